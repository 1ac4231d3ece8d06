using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Api.Tests.Infrastructure;

/// <summary>
/// The instruments one in-process app created through its own <see cref="IMeterFactory"/>, watched until every one of
/// them has been disposed with the app's container. See <see cref="ApiFactory.DisposeAsync"/> for why that matters.
/// </summary>
internal sealed class AppInstruments : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, byte> _alive = new();
    private readonly TaskCompletionSource _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AppInstruments(IMeterFactory appMeters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == appMeters)
            {
                _alive[instrument] = 0;
                // Only an enabled instrument reports its end (MeasurementsCompleted); no callback is set, so its
                // measurements cost this listener nothing.
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) =>
        {
            if (_alive.TryRemove(instrument, out byte _) && _alive.IsEmpty)
            {
                _gone.TrySetResult();
            }
        };
        _listener.Start();
        if (_alive.IsEmpty)
        {
            _gone.TrySetResult();
        }
    }

    public async Task AllDisposedAsync(TimeSpan timeout)
    {
        try
        {
            await _gone.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The in-process app's instruments outlived its disposal by {timeout.TotalSeconds:0} s: " +
                string.Join(", ", _alive.Keys.Select(i => $"{i.Meter.Name}/{i.Name}").Order()));
        }
    }

    public void Dispose() => _listener.Dispose();
}
