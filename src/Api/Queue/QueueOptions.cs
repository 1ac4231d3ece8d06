namespace Api.Queue;

/// <summary>Settings under <c>Queue</c>: the Hangfire server, its retries and its dashboard.</summary>
public sealed class QueueOptions
{
    public const string Section = "Queue";

    /// <summary>Jobs processed at once by this instance.</summary>
    [Range(1, 1000)]
    public int Workers { get; set; } = Math.Min(Environment.ProcessorCount * 5, 20);

    /// <summary>
    /// How often this instance moves due retries (and other scheduled jobs) onto their queue. Enqueued jobs do not
    /// wait for it: workers are woken as soon as a job is enqueued.
    /// </summary>
    [Range(1, 300)]
    public int SchedulePollingSeconds { get; set; } = 5;

    /// <summary>
    /// Redis storage only: a job fetched by an instance that then died (kill -9, OOM) goes back to its queue after this
    /// long. Keep it above the longest job, or a slow job runs twice.
    /// </summary>
    [Range(1, 86_400)]
    public int InvisibilityTimeoutSeconds { get; set; } = 30 * 60;

    /// <summary>
    /// Redis storage only: an idle worker re-reads its queue this often even without a new-job notification. Workers are
    /// woken by Redis pub/sub, but a notification published while the subscription is reconnecting (after a Redis
    /// restart) is lost; the library's default of 3 minutes would leave such a job waiting that long.
    /// </summary>
    [Range(1, 600)]
    public int FetchTimeoutSeconds { get; set; } = 15;

    /// <summary>How long a stopping instance lets running jobs finish before it cancels them.</summary>
    [Range(0, 600)]
    public int ShutdownTimeoutSeconds { get; set; } = 15;

    /// <summary>
    /// How often the queue gauges (waiting jobs, oldest age) are re-read from the job storage in the background. A scrape
    /// reads the last snapshot and never waits on the storage; queue_metrics_snapshot_age_seconds says how old it is.
    /// </summary>
    [Range(1, 300)]
    public int MetricsRefreshSeconds { get; set; } = 5;

    /// <summary>
    /// The longest the job storage may take to answer: one metrics refresh (abandoned after this, and the storage counted
    /// down) and, with Redis, each call of the queue's connection (connect, sync and async timeouts), so that a hung
    /// Redis holds a worker or the outbox dispatcher no longer than this.
    /// </summary>
    [Range(100, 60_000)]
    public int StorageTimeoutMilliseconds { get; set; } = 2000;

    public RetryOptions Retry { get; set; } = new();

    public DashboardOptions Dashboard { get; set; } = new();

    public sealed class RetryOptions
    {
        /// <summary>Retries after the first failed attempt; then the job stays in the failed list until requeued.</summary>
        [Range(0, 100)]
        public int Attempts { get; set; } = 5;

        /// <summary>Delay before the first retry; each further retry waits twice as long (capped at one hour).</summary>
        [Range(1, 3600)]
        public int DelaySeconds { get; set; } = 10;
    }

    public sealed class DashboardOptions
    {
        /// <summary>Path of the Hangfire dashboard.</summary>
        [Required, RegularExpression("^/.+", ErrorMessage = "{0} must start with '/' and name a path")]
        public string Path { get; set; } = "/hangfire";

        /// <summary>
        /// Opens the dashboard to <c>Authorization: Bearer KEY</c>, <c>X-API-Key: KEY</c> or a browser signed in with the
        /// key at <c>{Path}/signin</c>. Unset, the dashboard is closed; the metrics key never opens it (DashboardKey.cs).
        /// </summary>
        public string? ApiKey { get; set; }

        /// <summary>
        /// Development only: lets loopback connections in without the key. Never behind a proxy on the same host, where
        /// every request is a loopback connection; start-up refuses it outside the Development environment.
        /// </summary>
        public bool AllowLocalRequestsWithoutKey { get; set; }
    }
}
