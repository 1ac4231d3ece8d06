namespace Api.ScaleOut;

/// <summary>Settings under <c>Shutdown</c>: what the instance does between SIGTERM and its exit.</summary>
public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>
    /// How long the instance keeps serving after SIGTERM while /health/ready answers 503, so that load balancers stop
    /// sending it new requests before it stops accepting them. haproxy with <c>check inter 1s fall 1</c> marks it down
    /// within one interval plus the check's own timeout (at most 2 s); Kubernetes removes a terminating pod from its
    /// endpoints at once, but kube-proxy and ingress controllers take a few seconds to act on it. 5 s covers both with
    /// margin; with haproxy's defaults (<c>inter 2s fall 3</c>) use at least inter × fall + inter = 8.
    /// </summary>
    [Range(0, 300)]
    public int DrainSeconds { get; set; } = 5;

    /// <summary>
    /// After the drain: how long in-flight requests and running jobs may take to finish before the host stops them
    /// (the host's ShutdownTimeout is the drain plus this). 25 s makes 30 s in all, Kubernetes' default grace period.
    /// </summary>
    [Range(1, 600)]
    public int GraceSeconds { get; set; } = 25;
}
