using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Architecture;

/// <summary>
/// The InProcessApp collection keeps one in-process app alive at a time only if an app's meters are gone when its
/// factory's DisposeAsync returns (see ApiFactory.DisposeAsync for what happens to the next app otherwise). Without the
/// wait there, about half of the disposals returned with all of the app's instruments still alive.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class InProcessAppDisposalTests
{
    [Fact]
    public async Task No_instrument_of_an_in_process_app_outlives_its_factorys_DisposeAsync()
    {
        for (var app = 1; app <= 6; app++)
        {
            var factory = new ApiFactory();
            var meters = factory.Services.GetRequiredService<IMeterFactory>();
            var alive = new ConcurrentDictionary<Instrument, string>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters)
                {
                    alive[instrument] = $"{instrument.Meter.Name}/{instrument.Name}";
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.MeasurementsCompleted = (instrument, _) => alive.TryRemove(instrument, out string? _);
            listener.Start();
            using (var client = factory.CreateClient())
            {
                await MetricsScrape.FetchAsync(client);
            }

            Assert.NotEmpty(alive);

            await factory.DisposeAsync();

            Assert.True(alive.IsEmpty, $"app {app}: alive after DisposeAsync returned: {string.Join(", ", alive.Values.Order())}");
        }
    }
}
