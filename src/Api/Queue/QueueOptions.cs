using System.ComponentModel.DataAnnotations;

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
        /// Lets non-local requests in with <c>Authorization: Bearer KEY</c> or <c>X-API-Key: KEY</c>; when unset, the
        /// metrics key (<c>Metrics:ApiKey</c>) does. With neither, only local requests see the dashboard.
        /// </summary>
        public string? ApiKey { get; set; }
    }
}
