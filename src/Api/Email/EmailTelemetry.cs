using System.Diagnostics;

namespace Api.Email;

/// <summary>
/// The welcome email's spans. Its trace context is written down at each hand-over (the outbox row, then the job's
/// arguments) as a W3C <c>traceparent</c>, so the dispatch, the job and the SMTP send continue the sign-up's trace,
/// however much later and on whichever instance they run. A stored context also carries the sampling decision: a
/// sign-up that was not sampled sends an email that is not sampled either.
/// </summary>
internal static class EmailTelemetry
{
    public const string SourceName = "Api.Email";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The context to write down: the current span's, as a <c>traceparent</c> header value, or null without one.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>Starts a span whose parent is the written-down context; without a valid one it starts a new trace.</summary>
    public static Activity? StartFrom(string? traceParent, string name, ActivityKind kind)
    {
        ActivityContext.TryParse(traceParent, traceState: null, isRemote: true, out var parent);
        return Source.StartActivity(name, kind, parent);
    }

    public static Activity? Start(string name, ActivityKind kind) => Source.StartActivity(name, kind);

    /// <summary>Marks the span failed with the exception, as the OpenTelemetry conventions ask.</summary>
    public static void RecordFailure(this Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.AddException(exception);
    }
}
