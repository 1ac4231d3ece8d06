namespace Api.Queue;

/// <summary>A queue declared by a feature with <see cref="QueueExtensions.AddJobQueue"/>.</summary>
public sealed record JobQueueName(string Name);

/// <summary>
/// The queues this service's workers listen on, in priority order: each feature's own, then Hangfire's "default" for
/// jobs that name none. The server, the metrics and the dashboard read this one list.
/// </summary>
public sealed class JobQueues
{
    public const string Default = "default";

    public JobQueues(IEnumerable<JobQueueName> declared) =>
        Names = [.. declared.Select(q => q.Name).Append(Default).Distinct()];

    public string[] Names { get; }
}
