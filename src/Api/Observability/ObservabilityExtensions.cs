using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using Api.Configuration;
using Api.Security;
using OpenTelemetry.Resources;

namespace Api.Observability;

public static class ObservabilityExtensions
{
    /// <summary>Health checks tagged with this run in <c>/health/ready</c>; a feature that owns a dependency adds one.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Every meter the service exports. Our own are named <c>Api.*</c>; the built-in ones are those that cost nothing per
    /// request (the runtime's and the process' are read at scrape time, Kestrel's and SignalR's count connections).
    /// ASP.NET Core's own per-request histogram is left out: http_request_duration_seconds already measures the same.
    /// </summary>
    private static readonly string[] ExportedMeters =
    [
        "Api.*",
        "System.Runtime",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.EntityFrameworkCore",
        "Npgsql",
        "Microsoft.AspNetCore.RateLimiting",
    ];

    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<MetricsOptions>(MetricsOptions.Section);
        var options = builder.Configuration.ReadValidatedOptions<MetricsOptions>(MetricsOptions.Section);

        builder.Services.AddSingleton<HttpMetrics>();
        builder.Services.AddHealthChecks();
        builder.Services.AddValidatedOptions<HealthOptions>(HealthOptions.Section);
        // Every check a feature registers without its own timeout gets the readiness budget, so no dependency can hold
        // /health/ready (and the load balancer asking it) longer than that.
        builder.Services.AddOptions<HealthCheckServiceOptions>().PostConfigure<Microsoft.Extensions.Options.IOptions<HealthOptions>>((checks, health) =>
        {
            foreach (var registration in checks.Registrations.Where(r => r.Timeout == Timeout.InfiniteTimeSpan))
            {
                registration.Timeout = TimeSpan.FromMilliseconds(health.Value.CheckTimeoutMilliseconds);
            }
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceInfo.Name, serviceVersion: ServiceInfo.Version))
            .WithMetrics(metrics => metrics
                .AddMeter(ExportedMeters)
                .AddProcessInstrumentation()
                // The runtime meter reports process CPU time and working set too; the process instrumentation's
                // process_cpu_time_seconds_total and process_memory_usage_bytes are kept, as it alone also has threads,
                // file descriptors, virtual memory and uptime, under the process.* names every OpenTelemetry SDK uses.
                .AddView("dotnet.process.cpu.time", MetricStreamConfiguration.Drop)
                .AddView("dotnet.process.memory.working_set", MetricStreamConfiguration.Drop)
                // A sampled request's trace id rides on its histogram bucket and counter as an exemplar (OpenMetrics
                // only), so a latency spike on the dashboard links to a slow request's trace.
                .SetExemplarFilter(ExemplarFilterType.TraceBased)
                .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = options.ScrapeCacheMilliseconds));
        builder.AddTracing();

        if (options.Port is int port && builder is WebApplicationBuilder web)
        {
            // Adding a listener through Kestrel's Listen() would silently drop the ones from --urls, so add to them instead.
            var urls = web.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
            web.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"{urls};http://{options.Host}:{port}".TrimStart(';'));
        }

        return builder;
    }

    public static IApplicationBuilder UseHttpMetrics(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<MetricsOptions>>().Value;
        return options.Enabled ? app.UseMiddleware<HttpMetricsMiddleware>() : app;
    }

    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<MetricsOptions>>().Value;

        Action<IApplicationBuilder>? guard = string.IsNullOrEmpty(options.ApiKey) ? null : new ApiKeyGuard(options.ApiKey, "metrics").Apply;
        // With Metrics:Port set, which port serves the scrape is decided by the connection (Security/EdgeMiddleware.cs).
        endpoints.MapPrometheusScrapingEndpoint(options.Path, meterProvider: null, configureBranchedPipeline: guard, optionsName: null)
            .DisableHttpMetrics();

        // Liveness runs no check: a process that answers is alive. Readiness runs the checks features tag "ready".
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return endpoints;
    }
}
