using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Api.Observability;
using Hangfire;
using Hangfire.Storage;

namespace Api.Queue;

/// <summary>
/// The seed's queue metrics plus depth, age and timing. Their names and labels are a contract with the dashboards and
/// alerts; tests/Api.Tests/Monitoring/MonitoringEndToEndTests holds them together. Counters and histograms are recorded by the worker that ran the
/// attempt (<see cref="QueueMetricsFilter"/>), so instances sharing one Redis never count a job twice; the gauges are
/// read from the shared storage at scrape time, so every instance reports the same value (aggregate with max).
/// </summary>
public sealed class QueueMetrics
{
    public const string MeterName = "Api.Queue";
    public const string JobsCompleted = "queue_jobs_completed_total";
    public const string JobsFailed = "queue_jobs_failed_total";
    public const string JobsWaiting = "queue_jobs_waiting";
    public const string OldestJobAge = "queue_oldest_job_age_seconds";
    public const string JobDuration = "queue_job_duration_seconds";
    public const string JobWait = "queue_job_wait_seconds";
    public const string OutboxPending = "queue_outbox_pending";

    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly double[] WaitBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _wait;
    private readonly JobStorage _storage;
    private readonly string[] _queues;
    private readonly OutageLog _storageOutage;
    private readonly ConcurrentDictionary<string, long> _outboxPending = new();

    public QueueMetrics(IMeterFactory meterFactory, JobStorage storage, JobQueues queues, ILogger<QueueMetrics> logger)
    {
        _storage = storage;
        _queues = queues.Names;
        _storageOutage = new OutageLog(logger, "The job storage (queue gauges)");
        var meter = meterFactory.Create(MeterName);
        _completed = meter.CreateCounter<long>(JobsCompleted, unit: null,
            description: "Jobs that finished successfully, by queue.");
        _failed = meter.CreateCounter<long>(JobsFailed, unit: null,
            description: "Job attempts that threw, by queue; a job retried three times and then failed counts 4.");
        _duration = meter.CreateHistogram(JobDuration, unit: "s",
            description: "Time one attempt of a job ran, in seconds, by queue.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _wait = meter.CreateHistogram(JobWait, unit: "s",
            description: "Time from enqueueing a job to the start of its first attempt, in seconds, by queue.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WaitBuckets });
        meter.CreateObservableGauge(JobsWaiting, ObserveWaiting, unit: null,
            description: "Jobs enqueued and not yet picked up, by queue; the same on every instance sharing the storage.");
        meter.CreateObservableGauge(OldestJobAge, ObserveOldestAge, unit: "s",
            description: "Age of the oldest job waiting in the queue, in seconds (0 when empty), by queue.");
        meter.CreateObservableGauge(OutboxPending, ObserveOutboxPending, unit: null,
            description: "Jobs saved with the data they belong to but not yet on the job queue (an outbox), as last counted, by " +
                "queue; grows while the job storage is down. The same on every instance sharing the database.");

        // Zero series from the start, so that panels and rate() show 0 rather than "No data" before the first job.
        foreach (var queue in _queues)
        {
            _completed.Add(0, QueueTag(queue));
            _failed.Add(0, QueueTag(queue));
        }
    }

    public void Completed(string queue) => _completed.Add(1, QueueTag(queue));

    public void Failed(string queue) => _failed.Add(1, QueueTag(queue));

    public void RecordDuration(string queue, double seconds) => _duration.Record(seconds, QueueTag(queue));

    public void RecordWait(string queue, double seconds) => _wait.Record(Math.Max(0, seconds), QueueTag(queue));

    /// <summary>Set by a feature's outbox dispatcher each time it counts its outbox.</summary>
    public void SetOutboxPending(string queue, long count) => _outboxPending[queue] = count;

    private static KeyValuePair<string, object?> QueueTag(string queue) => new("queue", queue);

    private IEnumerable<Measurement<long>> ObserveOutboxPending() =>
        _outboxPending.Select(pending => new Measurement<long>(pending.Value, QueueTag(pending.Key)));

    private IEnumerable<Measurement<long>> ObserveWaiting() => Observe(monitoring =>
    {
        var measurements = new Measurement<long>[_queues.Length];
        for (var i = 0; i < _queues.Length; i++)
        {
            measurements[i] = new Measurement<long>(monitoring.EnqueuedCount(_queues[i]), QueueTag(_queues[i]));
        }

        return measurements;
    });

    private IEnumerable<Measurement<double>> ObserveOldestAge() => Observe(monitoring =>
    {
        var now = DateTime.UtcNow;
        var measurements = new Measurement<double>[_queues.Length];
        for (var i = 0; i < _queues.Length; i++)
        {
            var age = OldestEnqueuedAt(monitoring, _queues[i]) is { } at ? Math.Max(0, (now - at).TotalSeconds) : 0;
            measurements[i] = new Measurement<double>(age, QueueTag(_queues[i]));
        }

        return measurements;
    });

    /// <summary>
    /// Reads the shared storage at scrape time. When it is unreachable the gauges are left out of this scrape (absent,
    /// not a misleading 0), and the scrape itself still succeeds.
    /// </summary>
    private Measurement<T>[] Observe<T>(Func<IMonitoringApi, Measurement<T>[]> read) where T : struct
    {
        try
        {
            var measurements = read(_storage.GetMonitoringApi());
            _storageOutage.Succeeded();
            return measurements;
        }
        catch (Exception exception)
        {
            _storageOutage.Failed(exception);
            return [];
        }
    }

    /// <summary>
    /// Storages list a queue in different orders (Redis newest first, in-memory oldest first), so both ends are read
    /// and the earlier time wins: two small reads per queue and scrape, independent of the queue's length.
    /// </summary>
    private static DateTime? OldestEnqueuedAt(IMonitoringApi monitoring, string queue)
    {
        var count = monitoring.EnqueuedCount(queue);
        if (count == 0)
        {
            return null;
        }

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

        return oldest;
    }
}
