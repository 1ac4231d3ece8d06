namespace Api.Tests.Infrastructure;

/// <summary>
/// The test classes that host the app (or its meters and services) inside the test process run in this one collection,
/// one after another. OpenTelemetry's MeterProvider subscribes by meter name, process-wide, and keys its metric streams
/// by meter and instrument name: two in-process apps alive at once share one stream per instrument, so each counts the
/// other's measurements, and when one app is disposed the survivor's shared series vanish for good
/// (open-telemetry/opentelemetry-dotnet#6412). One at a time holds only because <see cref="ApiFactory.DisposeAsync"/>
/// returns after the app's meters are gone (InProcessAppDisposalTests). Classes that start the app as a process of its
/// own (AppProcess, TempApp) or only read files stay outside it and run beside it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessApp
{
    public const string Name = "in-process app";
}
