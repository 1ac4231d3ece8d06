namespace Api.Observability;

/// <summary>Settings under <c>Health</c>: how long <c>/health/ready</c> may wait on a dependency.</summary>
public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>
    /// Each readiness check that has not answered after this long reports its failure status (Unhealthy, or Degraded
    /// for the job storage). The checks run in parallel, so /health/ready answers within about this long whether a
    /// dependency is up, dead or hung.
    /// </summary>
    [Range(10, 30_000)]
    public int CheckTimeoutMilliseconds { get; set; } = 500;
}
