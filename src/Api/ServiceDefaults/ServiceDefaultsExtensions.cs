using Api.Errors;
using Api.Observability;

namespace Api.ServiceDefaults;

/// <summary>
/// What every service of the team starts with, in the spirit of the Aspire template's ServiceDefaults: every error a
/// problem document, telemetry (metrics on <c>/metrics</c>, traces, JSON console logs, OTLP export switched on by the
/// standard <c>OTEL_EXPORTER_OTLP_*</c> variables alone) and the health probes. A second service calls these two and
/// its middleware's first two lines (<c>UseHttpMetrics</c>, <c>UseErrorHandling</c>) and is observed the same way.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.AddErrorHandling();
        builder.AddObservability();
        return builder;
    }

    /// <summary><c>/metrics</c>, <c>/health/live</c> and <c>/health/ready</c>.</summary>
    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder endpoints) => endpoints.MapObservability();
}
