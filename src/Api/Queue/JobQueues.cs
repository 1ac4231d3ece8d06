namespace Api.Queue;

/// <summary>
/// A queue declared by a feature with <see cref="QueueExtensions.AddJobQueue"/>; <c>Served</c>: whether this
/// instance's workers take its jobs (its metrics and dashboard show it either way).
/// </summary>
public sealed record JobQueueName(string Name, bool Served = true);

/// <summary>
/// The service's queues, in priority order: each feature's own, then Hangfire's "default" for jobs that name none. The
/// metrics and the dashboard read <see cref="Names"/>, this instance's workers <see cref="Served"/>.
/// </summary>
public sealed class JobQueues
{
    public const string Default = "default";

    public JobQueues(IEnumerable<JobQueueName> declared)
    {
        var queues = declared.ToList();
        Names = [.. queues.Select(q => q.Name).Append(Default).Distinct()];
        Served = [.. queues.Where(q => q.Served).Select(q => q.Name).Append(Default).Distinct()];
    }

    public string[] Names { get; }

    public string[] Served { get; }
}
