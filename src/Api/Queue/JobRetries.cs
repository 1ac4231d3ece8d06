using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.Options;

namespace Api.Queue;

/// <summary>
/// The queue's retries (<c>Queue:Retry</c>), for its own attempts and for a first attempt a feature makes outside it:
/// the welcome email is sent straight from its outbox, and only a failed send becomes a job. That job starts where the
/// queue's own retry would have (<c>RetryCount</c> 1, the first retry's delay), so it gets the same attempts, delays
/// and place in the dashboard (Scheduled, then Failed) as one the queue had run from the start.
/// </summary>
public sealed class JobRetries(IBackgroundJobClient jobs, IOptions<QueueOptions> options)
{
    /// <summary>The delay before retry <paramref name="attempt"/> (1 for the first): doubling from Queue:Retry:DelaySeconds, at most an hour.</summary>
    public static int DelaySeconds(QueueOptions.RetryOptions retry, long attempt) =>
        (int)Math.Min(3600, retry.DelaySeconds * Math.Pow(2, Math.Max(0, attempt - 1)));

    /// <summary>
    /// Makes <paramref name="job"/>, whose first attempt just threw <paramref name="failure"/>, a job on the queue: its
    /// first retry scheduled, or failed at once when the failure is permanent or no retries are configured. Returns its
    /// id. Throws when the job storage does not take it (the caller keeps the work and tries again later).
    /// </summary>
    public string RetryFailedAttempt(Job job, Exception failure)
    {
        var retry = options.Value.Retry;
        var client = (IBackgroundJobClientV2)jobs;
        if (failure is PermanentJobFailureException || retry.Attempts == 0)
        {
            return client.Create(job, new FailedState(failure) { Reason = "The first attempt failed" }, parameters: null);
        }

        var delay = TimeSpan.FromSeconds(DelaySeconds(retry, 1));
        // AutomaticRetryAttribute reads RetryCount to number the next attempt: this one was attempt 1.
        return client.Create(job, new ScheduledState(delay) { Reason = $"Retry attempt 1 of {retry.Attempts}: {Shortened(failure.Message)}" },
            new Dictionary<string, object> { ["RetryCount"] = 1 });
    }

    // As short as the reason Hangfire's own retry writes.
    private static string Shortened(string message) => message.Length > 50 ? message[..49] + "…" : message;
}
