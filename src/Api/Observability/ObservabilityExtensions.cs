using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using OpenTelemetry.Metrics;
using Api.ApiKeys;
using OpenTelemetry.Resources;

namespace Api.Observability;

public static class ObservabilityExtensions
{
    /// <summary>Health checks tagged with this run in <c>/health/ready</c> (<see cref="AddReadinessCheck{T}"/> tags them).</summary>
    private const string ReadyTag = "ready";

    /// <summary>
    /// Every meter the service exports: our own (<see cref="ServiceInfo.OwnTelemetry"/>), and the built-in ones that
    /// cost nothing per request (the runtime's and the process' are read at scrape time, Kestrel's and SignalR's count connections).
    /// ASP.NET Core's Hosting meter is left out: http_request_duration_seconds measures what its histogram does, and
    /// HttpMetrics counts the in-flight requests per core (see <see cref="HttpMetrics.ActiveRequests"/>). What the
    /// saturation alerts read is in, for an add or two per command or limited request: Npgsql's connection pool, the
    /// rate limiter's rejections and queued leases.
    /// </summary>
    private static readonly string[] ExportedMeters =
    [
        ServiceInfo.OwnTelemetry,
        "System.Runtime",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.EntityFrameworkCore",
        "Microsoft.AspNetCore.RateLimiting",
        "Npgsql",
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
        builder.Services.AddOptions<HealthCheckServiceOptions>().PostConfigure<IOptions<HealthOptions>>((checks, health) =>
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
                // Per command and per sign-up: EF Core's spans time commands, and a sign-up's lease lasts its request.
                .AddView("db.client.operation.duration", MetricStreamConfiguration.Drop)
                .AddView("aspnetcore.rate_limiting.request_lease.duration", MetricStreamConfiguration.Drop)
                // Reported only while commands run, so it comes and goes between scrapes.
                .AddView("db.client.operation.npgsql.prepared_ratio", MetricStreamConfiguration.Drop)
                // A sampled request's trace id rides on its histogram bucket and counter as an exemplar (OpenMetrics
                // only), so a latency spike on the dashboard links to a slow request's trace.
                .SetExemplarFilter(ExemplarFilterType.TraceBased)
                .AddPrometheusExporter());
        builder.Services.AddOptions<OpenTelemetry.Exporter.PrometheusAspNetCoreOptions>().Configure<IOptions<MetricsOptions>>(
            (exporter, metrics) => exporter.ScrapeResponseCacheDurationMilliseconds = metrics.Value.ScrapeCacheMilliseconds);
        builder.AddTracing();
        builder.AddConsoleLogFormats();
        builder.AddOtlpExport();

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
        var options = app.ApplicationServices.GetRequiredService<IOptions<MetricsOptions>>().Value;
        if (options.Enabled is not null)
        {
            app.ApplicationServices.GetRequiredService<ILogger<MetricsOptions>>().LogWarning(
                "Metrics:Enabled is deprecated: it switches only the HTTP request metrics; set Metrics:HttpRequests:Enabled instead");
        }

        return options.RecordsHttpRequests ? app.UseMiddleware<HttpMetricsMiddleware>() : app;
    }

    /// <summary>With <c>Metrics:Port</c> set, that port serves only the scrape and the probes, and only it serves the scrape.</summary>
    public static IApplicationBuilder UseMetricsPort(this IApplicationBuilder app) =>
        // Decided once here, not on every request: without Metrics:Port there is no second door to guard.
        app.ApplicationServices.GetRequiredService<IOptions<MetricsOptions>>().Value.Port is null
            ? app
            : app.UseMiddleware<MetricsPortMiddleware>();

    /// <summary>
    /// A check of <c>/health/ready</c>, added by the feature that owns the dependency. Its failure status is Unhealthy
    /// (the load balancer takes the instance out) or, for a dependency without which the instance still serves,
    /// Degraded (the report and the alerts show it, traffic keeps coming).
    /// </summary>
    public static IHealthChecksBuilder AddReadinessCheck<T>(this IServiceCollection services, string name, HealthStatus failureStatus = HealthStatus.Unhealthy)
        where T : class, IHealthCheck =>
        services.AddHealthChecks().AddCheck<T>(name, failureStatus, [ReadyTag]);

    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<MetricsOptions>>().Value;

        Action<IApplicationBuilder>? guard = string.IsNullOrEmpty(options.ApiKey) ? null : new ApiKeyGuard(options.ApiKey, "metrics").Apply;
        // With Metrics:Port set, which port serves the scrape is decided by the connection (MetricsPortMiddleware).
        endpoints.MapPrometheusScrapingEndpoint(options.Path, meterProvider: null, configureBranchedPipeline: guard, optionsName: null)
            .DisableHttpMetrics();

        // Liveness runs no check: a process that answers is alive. Readiness runs the checks features tag "ready".
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return endpoints;
    }
}
