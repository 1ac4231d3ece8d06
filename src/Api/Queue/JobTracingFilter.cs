using System.Diagnostics;
using Hangfire.Client;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;

namespace Api.Queue;

/// <summary>
/// Makes each job attempt a span that continues the trace which enqueued the job, and keeps it current for everything
/// logged about that attempt: the job itself, our filters, and Hangfire's own retry and failure messages, which it
/// writes while electing the next state, after the job has returned. Hangfire's worker runs an attempt synchronously
/// on one thread (perform, then state change), so the span started in <see cref="OnPerforming"/> stays current until
/// the attempt's final state is applied, where it stops.
/// </summary>
internal sealed class JobTracingFilter : IClientFilter, IServerFilter, IApplyStateFilter
{
    public const string SourceName = "Api.Queue";

    /// <summary>The enqueuing span's W3C context, stored with the job (any job, of any feature).</summary>
    private const string TraceParentParameter = "traceparent";

    /// <summary>Marks the attempt span with its job's id, so that only that job's state change ends it.</summary>
    private const string JobIdProperty = "Api.Queue.JobId";

    private static readonly ActivitySource Source = new(SourceName);

    public void OnCreating(CreatingContext context)
    {
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            context.SetJobParameter(TraceParentParameter, current.Id);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        // An attempt whose state change threw never reached OnStateApplied: its span must not parent the next job's.
        if (Activity.Current?.GetCustomProperty(JobIdProperty) is not null)
        {
            Activity.Current.Stop();
        }

        ActivityContext.TryParse(context.GetJobParameter<string>(TraceParentParameter, allowStale: true), traceState: null, isRemote: true, out var parent);
        var queue = QueueMetricsFilter.QueueOf(context.BackgroundJob.Job);
        var name = $"{queue} process";
        // Without a trace listener (no OTLP endpoint) nothing is recorded, but the logs still get the trace's ids.
        var activity = Source.StartActivity(name, ActivityKind.Consumer, parent) ?? StartUnrecorded(name, parent);
        activity.SetCustomProperty(JobIdProperty, context.BackgroundJob.Id);
        activity.SetTag("messaging.system", "hangfire").SetTag("messaging.destination.name", queue)
            .SetTag("messaging.message.id", context.BackgroundJob.Id)
            .SetTag("messaging.hangfire.retry_count", QueueMetricsFilter.RetryCountOf(context));
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Exception is { } exception && Activity.Current?.GetCustomProperty(JobIdProperty) is not null)
        {
            Activity.Current.SetStatus(ActivityStatusCode.Error, (exception.InnerException ?? exception).Message);
        }
    }

    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (context.NewState is ProcessingState)
        {
            return;
        }

        if (Activity.Current is { } current && current.GetCustomProperty(JobIdProperty) as string == context.BackgroundJob.Id)
        {
            current.SetTag("messaging.hangfire.state", context.NewState.Name);
            current.Stop();
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }

    private static Activity StartUnrecorded(string name, ActivityContext parent)
    {
        var activity = new Activity(name);
        if (parent != default)
        {
            activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        }

        return activity.Start();
    }
}
