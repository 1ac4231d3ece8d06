using Api.Observability;
using Hangfire;
using Hangfire.Storage;

namespace Api.Queue;

/// <summary>
/// Reads queue depth and the oldest waiting job from the job storage every <see cref="QueueOptions.MetricsRefreshSeconds"/>
/// and hands the result to <see cref="QueueMetrics"/>, so that /metrics renders from memory whatever Redis does.
/// Hangfire's monitoring API is synchronous, so each read runs on a thread of its own and is abandoned after
/// <see cref="QueueOptions.StorageTimeoutMilliseconds"/>; a read that hangs is waited on by the next refresh rather than
/// joined by a second one, so a hung Redis costs one blocked thread, never a pile of them or the thread pool.
/// </summary>
internal sealed class QueueMetricsRefresher(
    JobStorage storage,
    JobQueues queues,
    QueueMetrics metrics,
    IOptions<QueueOptions> options,
    TimeProvider time,
    ILogger<QueueMetricsRefresher> logger) : BackgroundService
{
    private readonly OutageLog _outage = new(logger, "The job storage (queue gauges)", time);
    private Task<QueueSnapshot>? _inFlight;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.MetricsRefreshSeconds), time);
        do
        {
            await RefreshAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        _inFlight ??= Task.Factory.StartNew(Read, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            var snapshot = await _inFlight.WaitAsync(TimeSpan.FromMilliseconds(options.Value.StorageTimeoutMilliseconds), time, cancellationToken);
            _inFlight = null;
            metrics.Publish(snapshot);
            _outage.Succeeded();
        }
        catch (TimeoutException)
        {
            // Still running: keep it, and wait on the same read next time.
            Failed(new TimeoutException($"no answer within Queue:StorageTimeoutMilliseconds ({options.Value.StorageTimeoutMilliseconds} ms); the gauges keep their last values"));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            _inFlight = null;
            Failed(exception);
        }
    }

    private void Failed(Exception exception)
    {
        metrics.StorageUnreachable();
        _outage.Failed(exception);
    }

    private QueueSnapshot Read()
    {
        var monitoring = storage.GetMonitoringApi();
        var states = new QueueSnapshot.QueueState[queues.Names.Length];
        for (var i = 0; i < states.Length; i++)
        {
            var queue = queues.Names[i];
            var count = monitoring.EnqueuedCount(queue);
            states[i] = new QueueSnapshot.QueueState(queue, count, count == 0 ? null : OldestEnqueuedAt(monitoring, queue, count));
        }

        return new QueueSnapshot(time.GetUtcNow(), states);
    }

    /// <summary>
    /// Storages list a queue in different orders (Redis newest first, in-memory oldest first), so both ends are read
    /// and the earlier time wins: two small reads per queue, independent of the queue's length.
    /// </summary>
    private static DateTimeOffset? OldestEnqueuedAt(IMonitoringApi monitoring, string queue, long count)
    {
        DateTime? oldest = null;
        var last = (int)Math.Min(count - 1, int.MaxValue);
        foreach (var index in last == 0 ? [0] : new[] { 0, last })
        {
            foreach (var job in monitoring.EnqueuedJobs(queue, index, 1))
            {
                if (job.Value?.EnqueuedAt is { } at && (oldest is null || at < oldest))
                {
                    oldest = at;
                }
            }
        }

        return oldest is { } utc ? new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)) : null;
    }
}
