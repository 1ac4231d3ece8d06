using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Api.Observability;

/// <summary>
/// Traces, and the OTLP export of every signal. A trace holds the request (ASP.NET Core), its EF Core commands, its Redis calls and the
/// spans features start from an <c>Api.*</c> ActivitySource (the SignalR broadcast; the welcome email's dispatch, job and
/// SMTP send, which carry the sign-up's context through the outbox), recorded when an OTLP endpoint for traces is set.
/// Sampling is the SDK's, chosen by the standard
/// <c>OTEL_TRACES_SAMPLER</c> / <c>OTEL_TRACES_SAMPLER_ARG</c> (default <c>parentbased_always_on</c>; production:
/// <c>parentbased_traceidratio</c> with a ratio such as 0.1; <c>always_off</c> records nothing).
/// </summary>
public static class TracingExtensions
{
    /// <summary>
    /// The standard switch: when set, traces, logs and metrics are also pushed over OTLP. Without it (or a per-signal
    /// <c>OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT</c>) nothing leaves the process.
    /// </summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static IHostApplicationBuilder AddTracing(this IHostApplicationBuilder builder)
    {
        // Spans are recorded only when they are exported: unexported they would cost CPU for nothing (BENCHMARKS.md,
        // "Tracing cost"), and an exemplar's trace id would lead nowhere. Without it every request still has a W3C
        // trace id (ASP.NET Core's activity) in its logs and problem responses.
        if (IsSet(builder, OtlpEndpointKey) || IsSet(builder, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        {
            builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
                .AddSource(ServiceInfo.OwnTelemetry)
                .AddAspNetCoreInstrumentation()
                .AddEntityFrameworkCoreInstrumentation()
                // Commands outside any span are background polling (Hangfire's fetch loop): a trace each would be noise.
                .AddRedisInstrumentation(redis => redis.Filter = command => command.ParentActivity is not null));
        }

        // Scrapes and probes arrive every few seconds and explain nothing; their children (a readiness check's query)
        // follow the parent's decision, so they go too.
        builder.Services.AddOptions<OpenTelemetry.Instrumentation.AspNetCore.AspNetCoreTraceInstrumentationOptions>()
            .Configure<IOptions<MetricsOptions>>((aspNetCore, metrics) => aspNetCore.Filter = context =>
                !context.Request.Path.StartsWithSegments(metrics.Value.Path) && !context.Request.Path.StartsWithSegments("/health"));
        return builder;
    }

    /// <summary>
    /// Pushes traces, logs and metrics over OTLP to whatever the standard variables name; nothing leaves the process
    /// without one. The exporter reads the rest of them itself (OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, OTEL_BSP_* /
    /// OTEL_BLRP_* batching, OTEL_RESOURCE_ATTRIBUTES).
    /// </summary>
    public static IHostApplicationBuilder AddOtlpExport(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry();
        builder.Services.Configure<OpenTelemetryLoggerOptions>(logs => logs.IncludeFormattedMessage = true);
        if (IsSet(builder, OtlpEndpointKey))
        {
            // One receiver for every signal (the Aspire dashboard, an OpenTelemetry Collector).
            telemetry.WithLogging().UseOtlpExporter();
        }
        else
        {
            // A receiver per signal (Tempo for traces, Loki for logs in docker compose), each by its standard variable:
            // a full URL, used as given. (The SDK's per-signal AddOtlpExporter reads only the common endpoint.)
            if (Endpoint(builder, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") is { } traces)
            {
                telemetry.WithTracing(tracing => tracing.AddOtlpExporter(otlp => otlp.Endpoint = traces));
            }

            if (Endpoint(builder, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") is { } logs)
            {
                telemetry.WithLogging(logging => logging.AddOtlpExporter(otlp => otlp.Endpoint = logs));
            }

            if (Endpoint(builder, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") is { } metrics)
            {
                telemetry.WithMetrics(metering => metering.AddOtlpExporter(otlp => otlp.Endpoint = metrics));
            }
        }

        return builder;
    }

    private static bool IsSet(IHostApplicationBuilder builder, string key) => !string.IsNullOrWhiteSpace(builder.Configuration[key]);

    private static Uri? Endpoint(IHostApplicationBuilder builder, string key)
    {
        if (!IsSet(builder, key))
        {
            return null;
        }

        return Uri.TryCreate(builder.Configuration[key], UriKind.Absolute, out var endpoint)
            ? endpoint
            : throw new InvalidOperationException($"{key} must be an absolute URL, such as http://tempo:4318/v1/traces.");
    }
}
