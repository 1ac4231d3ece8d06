namespace Api.Observability;

/// <summary>
/// With <c>Metrics:Port</c> set, that port is a different door, decided by the port the connection arrived on (never
/// by the Host header, which the client writes): it serves the scrape and the health checks and nothing else, and the
/// public port does not serve the scrape.
/// </summary>
internal sealed class MetricsPortMiddleware(RequestDelegate next, IOptions<MetricsOptions> options)
{
    // Registered only when Metrics:Port is set (UseMetricsPort).
    private readonly int _port = options.Value.Port ?? throw new InvalidOperationException("Metrics:Port is not set.");
    private readonly PathString _metricsPath = options.Value.Path;
    private static readonly PathString HealthPath = "/health";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var onMetricsPort = context.Connection.LocalPort == _port;
        var allowed = onMetricsPort
            ? path.StartsWithSegments(_metricsPath) || path.StartsWithSegments(HealthPath)
            : !path.StartsWithSegments(_metricsPath);
        if (allowed)
        {
            return next(context);
        }

        // An empty 404: the status code pages write it as a problem, the same as any unknown path.
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
