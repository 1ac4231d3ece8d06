namespace Api.Tests.Infrastructure;

/// <summary>
/// The test classes that host the app (or its meters and services) inside the test process run in this one collection,
/// one after another: OpenTelemetry's meter listener subscribes by meter name, so two in-process app instances alive at
/// once would each see the other's Api.* measurements and the exact-count assertions would break. Classes that start
/// the app as a process of its own (AppProcess, TempApp) or only read files stay outside it and run beside it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessApp
{
    public const string Name = "in-process app";
}
