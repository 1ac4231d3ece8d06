using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Hangfire;
using Hangfire.Common;
using Hangfire.Server;

namespace Api.Queue;

/// <summary>
/// Counts and times every attempt in the worker that runs it: exactly one instance sees each attempt, so nothing is
/// double counted however many instances share the queue, and nothing is polled. An attempt cut short because this
/// instance is shutting down is not counted: the job goes back to its queue and runs again elsewhere.
/// </summary>
internal sealed class QueueMetricsFilter(QueueMetrics metrics, ILogger<QueueMetricsFilter> logger) : IServerFilter
{
    private const string StartedKey = "Api.Queue.StartedTimestamp";
    private const string QueueKey = "Api.Queue.Queue";
    private const string RetryCountKey = "Api.Queue.RetryCount";

    private static readonly ConcurrentDictionary<MethodInfo, string> QueueByMethod = new();

    public void OnPerforming(PerformingContext context)
    {
        var queue = QueueOf(context.BackgroundJob.Job);
        context.Items[QueueKey] = queue;
        context.Items[StartedKey] = Stopwatch.GetTimestamp();

        // Wait is enqueue -> first start. A retry's back-off is a deliberate delay, not time spent queuing, so later
        // attempts (RetryCount > 0) are left out rather than mixed into the same distribution.
        if (RetryCountOf(context) == 0)
        {
            metrics.RecordWait(queue, (DateTime.UtcNow - context.BackgroundJob.CreatedAt).TotalSeconds);
        }
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items[QueueKey] is not string queue || context.Items[StartedKey] is not long started)
        {
            return;
        }

        if (context.Exception is OperationCanceledException && context.CancellationToken.ShutdownToken.IsCancellationRequested)
        {
            return;
        }

        metrics.RecordDuration(queue, Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (context.Exception is null)
        {
            metrics.Completed(queue);
        }
        else
        {
            metrics.Failed(queue);
            logger.LogWarning("Job {JobId} on queue {Queue} failed an attempt: {Error}",
                context.BackgroundJob.Id, queue, (context.Exception.InnerException ?? context.Exception).Message);
        }
    }

    /// <summary>
    /// The attempt's retry count, read from the job storage once per attempt and kept in the context for the other
    /// filters: the Redis storage keeps no parameter snapshot, so every read is a round trip on the worker's thread.
    /// </summary>
    internal static int RetryCountOf(PerformingContext context)
    {
        if (context.Items.TryGetValue(RetryCountKey, out var known) && known is int count)
        {
            return count;
        }

        count = context.GetJobParameter<int>("RetryCount", allowStale: true);
        context.Items[RetryCountKey] = count;
        return count;
    }

    /// <summary>The queue a job runs on: its own, or its method's [Queue], or Hangfire's "default".</summary>
    internal static string QueueOf(Job job) =>
        job.Queue ?? QueueByMethod.GetOrAdd(job.Method, static method =>
            (method.GetCustomAttribute<QueueAttribute>() ?? method.DeclaringType?.GetCustomAttribute<QueueAttribute>())?.Queue
            ?? JobQueues.Default);
}
