using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Api.Observability;

namespace Api.Queue;

/// <summary>
/// The seed's queue metrics plus depth, age and timing. Their names and labels are a contract with the dashboards and
/// alerts; tests/Api.Tests/Email/EmailQueueTests and Monitoring/MonitoringEndToEndTests hold them together. Counters and histograms are recorded by the worker that ran the
/// attempt (<see cref="QueueMetricsFilter"/>), so instances sharing one Redis never count a job twice. The gauges are
/// read from memory only, so a scrape never waits on Redis or the database: depth and age from the last
/// <see cref="QueueSnapshot"/> (<see cref="QueueMetricsRefresher"/> reads the shared storage in the background, so every
/// instance reports the same value: aggregate with max), the outbox from its dispatcher's last count.
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
    public const string OutboxOldestAge = "queue_outbox_oldest_age_seconds";
    public const string StorageUp = "queue_storage_up";
    public const string SnapshotAge = "queue_metrics_snapshot_age_seconds";

    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly double[] WaitBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _wait;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    private readonly ConcurrentDictionary<string, long> _outboxPending = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset?> _outboxOldest = new();
    private volatile QueueSnapshot? _snapshot;
    private volatile int _storageUp = -1; // unknown until the first refresh

    public QueueMetrics(IMeterFactory meterFactory, JobQueues queues, TimeProvider time)
    {
        _time = time;
        _startedAt = time.GetUtcNow();
        var meter = meterFactory.Create(MeterName);
        _completed = meter.CreateCounter<long>(JobsCompleted, unit: null,
            description: "Jobs that finished successfully, by queue.");
        _failed = meter.CreateCounter<long>(JobsFailed, unit: null,
            description: "Job attempts that threw, by queue; a job retried three times and then failed counts 4.");
        _duration = meter.CreateSecondsHistogram(JobDuration, "Time one attempt of a job ran, in seconds, by queue.", DurationBuckets);
        _wait = meter.CreateSecondsHistogram(JobWait,
            "Time from enqueueing a job to the start of its first attempt, in seconds, by queue.", WaitBuckets);
        meter.CreateObservableGauge(JobsWaiting, ObserveWaiting, unit: null,
            description: "Jobs enqueued and not yet picked up, by queue, as of the last snapshot of the job storage; the same on every instance sharing the storage.");
        meter.CreateObservableGauge(OldestJobAge, ObserveOldestAge, unit: "s",
            description: "Age of the oldest job waiting in the queue, in seconds (0 when empty), by queue; the job is the last snapshot's, its age is now's.");
        meter.CreateObservableGauge(OutboxPending, ObserveOutboxPending, unit: null,
            description: "Jobs saved with the data they belong to (an outbox), not yet done or on the job queue, as last counted, by " +
                "queue; grows while they cannot leave. The same on every instance sharing the database.");
        // The count alone cannot tell a busy outbox (never empty at a scrape, every row gone within a second) from a
        // stuck one; the age of the oldest row can.
        meter.CreateObservableGauge(OutboxOldestAge, ObserveOutboxOldestAge, unit: "s",
            description: "Age of the oldest job in the outbox, in seconds (0 when empty), by queue; the row is the last count's, its age is now's.");
        meter.CreateObservableGauge(StorageUp, ObserveStorageUp, unit: null,
            description: "1 when the last background read of the job storage (Redis) answered in time, 0 when it failed or timed out.");
        meter.CreateObservableGauge(SnapshotAge, ObserveSnapshotAge, unit: "s",
            description: "Seconds since the queue gauges were last read from the job storage (since start-up until the first read succeeds).");

        // Zero series from the start, so that panels and rate() show 0 rather than "No data" before the first job.
        foreach (var queue in queues.Names)
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

    /// <summary>Set by a feature's outbox dispatcher with the time its oldest row was saved (null when empty).</summary>
    public void SetOutboxOldest(string queue, DateTimeOffset? savedAt) => _outboxOldest[queue] = savedAt;

    /// <summary>A fresh read of the job storage: the gauges show it from the next scrape on.</summary>
    internal void Publish(QueueSnapshot snapshot)
    {
        _snapshot = snapshot;
        _storageUp = 1;
    }

    /// <summary>
    /// The storage did not answer: the gauges keep the last snapshot (its age keeps growing, the oldest job keeps
    /// ageing) and queue_storage_up says 0, rather than dropping the series and resolving the alerts that watch them.
    /// </summary>
    internal void StorageUnreachable() => _storageUp = 0;

    private static KeyValuePair<string, object?> QueueTag(string queue) => new("queue", queue);

    private IEnumerable<Measurement<long>> ObserveOutboxPending() =>
        _outboxPending.Select(pending => new Measurement<long>(pending.Value, QueueTag(pending.Key)));

    private IEnumerable<Measurement<double>> ObserveOutboxOldestAge()
    {
        var now = _time.GetUtcNow();
        return _outboxOldest.Select(oldest => new Measurement<double>(
            oldest.Value is { } at ? Math.Max(0, (now - at).TotalSeconds) : 0, QueueTag(oldest.Key)));
    }

    private IEnumerable<Measurement<long>> ObserveWaiting() =>
        _snapshot?.Queues.Select(q => new Measurement<long>(q.Waiting, QueueTag(q.Name))) ?? [];

    private IEnumerable<Measurement<double>> ObserveOldestAge()
    {
        if (_snapshot is not { } snapshot)
        {
            return [];
        }

        var now = _time.GetUtcNow();
        return snapshot.Queues.Select(q => new Measurement<double>(
            q.OldestEnqueuedAt is { } at ? Math.Max(0, (now - at).TotalSeconds) : 0, QueueTag(q.Name)));
    }

    private IEnumerable<Measurement<int>> ObserveStorageUp() =>
        _storageUp is var up and >= 0 ? [new Measurement<int>(up)] : [];

    private Measurement<double> ObserveSnapshotAge() =>
        new(Math.Max(0, (_time.GetUtcNow() - (_snapshot?.TakenAt ?? _startedAt)).TotalSeconds));
}

/// <summary>What the job storage said about each queue at <see cref="TakenAt"/>.</summary>
internal sealed record QueueSnapshot(DateTimeOffset TakenAt, IReadOnlyList<QueueSnapshot.QueueState> Queues)
{
    internal sealed record QueueState(string Name, long Waiting, DateTimeOffset? OldestEnqueuedAt);
}
