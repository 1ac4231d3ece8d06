using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace Api.Observability;

/// <summary>
/// Traces and their export. A trace holds the request (ASP.NET Core), its EF Core commands, its Redis calls and the
/// spans features start from an <c>Api.*</c> ActivitySource (the SignalR broadcast; the welcome email's dispatch, job and
/// SMTP send, which carry the sign-up's context through the outbox). Sampling is the SDK's, chosen by the standard
/// <c>OTEL_TRACES_SAMPLER</c> / <c>OTEL_TRACES_SAMPLER_ARG</c> (default <c>parentbased_always_on</c>; production:
/// <c>parentbased_traceidratio</c> with a ratio such as 0.1; <c>always_off</c> records nothing).
/// </summary>
public static class TracingExtensions
{
    /// <summary>The standard switch: when set, traces, logs and metrics are also pushed over OTLP; otherwise nothing leaves.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Every ActivitySource of our own features is named <c>Api.Something</c>.</summary>
    public const string ActivitySources = "Api.*";

    public static IHostApplicationBuilder AddTracing(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource(ActivitySources)
                .AddAspNetCoreInstrumentation()
                .AddEntityFrameworkCoreInstrumentation()
                // Commands outside any span are background polling (Hangfire's fetch loop): a trace each would be noise.
                .AddRedisInstrumentation(redis => redis.Filter = command => command.ParentActivity is not null));

        // Scrapes and probes arrive every few seconds and explain nothing; their children (a readiness check's query)
        // follow the parent's decision, so they go too.
        builder.Services.AddOptions<OpenTelemetry.Instrumentation.AspNetCore.AspNetCoreTraceInstrumentationOptions>()
            .Configure<IOptions<MetricsOptions>>((aspNetCore, metrics) => aspNetCore.Filter = context =>
                !context.Request.Path.StartsWithSegments(metrics.Value.Path) && !context.Request.Path.StartsWithSegments("/health"));

        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]))
        {
            // The OTLP exporter reads the rest of the standard variables itself (OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS,
            // per-signal endpoints, OTEL_BSP_* / OTEL_BLRP_* batching, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
            builder.Services.Configure<OpenTelemetryLoggerOptions>(logs => logs.IncludeFormattedMessage = true);
            telemetry.WithLogging().UseOtlpExporter();
        }

        return builder;
    }
}
