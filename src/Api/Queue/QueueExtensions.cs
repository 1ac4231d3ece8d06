using Api.Data;
using Api.Observability;
using Hangfire;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.Redis.StackExchange;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Trace;

namespace Api.Queue;

/// <summary>
/// Durable background jobs on Hangfire: in-memory job storage by default, Redis when <c>ConnectionStrings:Redis</c> is
/// set (jobs then survive a restart and instances share one queue). Features that run jobs declare their queue with
/// <see cref="AddJobQueue"/>; this feature owns the storage, the server, retries, the queue metrics and the dashboard.
/// </summary>
public static class QueueExtensions
{
    public static IHostApplicationBuilder AddQueue(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<QueueOptions>(QueueOptions.Section);
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<QueueOptions>().Validate(
            queue => development || !queue.Dashboard.AllowLocalRequestsWithoutKey,
            "Queue:Dashboard:AllowLocalRequestsWithoutKey is for local development only (ASPNETCORE_ENVIRONMENT=Development): set a dashboard key instead.");
        builder.Services.AddDashboardSignIn();

        var redis = builder.Configuration.GetConnectionString(DataExtensions.RedisConnectionName);
        // Storage, filters and activator are registered in the container before AddHangfire, whose TryAdd calls then
        // keep them: each app instance (and each test host) gets its own, not Hangfire's process-wide statics.
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton<JobStorage>(_ => new InMemoryStorage());
        }
        else
        {
            builder.Services.AddSingleton(services => QueueRedisConnection.Connect(redis, services.GetRequiredService<IOptions<QueueOptions>>().Value));
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.ConfigureRedisInstrumentation(
                (services, instrumentation) => instrumentation.AddConnection("queue", services.GetRequiredService<QueueRedisConnection>().Connection)));
            builder.Services.AddSingleton<JobStorage>(services => CreateRedisStorage(
                services.GetRequiredService<QueueRedisConnection>().Connection, services.GetRequiredService<IOptions<QueueOptions>>().Value));
            // Degraded, not unhealthy: without Redis the API still serves everything and new jobs wait in their outbox, so
            // a load balancer should keep sending traffic (the status still shows in /health/ready and in alerts).
            builder.Services.AddSingleton<QueueRedisHealthCheck>();
            builder.Services.AddReadinessCheck<QueueRedisHealthCheck>("queue-redis", HealthStatus.Degraded);
        }

        builder.Services.AddSingleton<JobQueues>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<QueueMetrics>();
        builder.Services.AddHostedService<QueueMetricsRefresher>();
        builder.Services.AddSingleton<QueueMetricsFilter>();
        builder.Services.AddSingleton<JobTracingFilter>();
        builder.Services.AddSingleton<JobRetries>();
        builder.Services.AddSingleton<IJobFilterProvider>(CreateFilterProvider);
        builder.Services.AddHangfire((services, configuration) => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseStorage(services.GetRequiredService<JobStorage>()));
        builder.Services.AddHangfireServer((services, server) =>
        {
            var options = services.GetRequiredService<IOptions<QueueOptions>>().Value;
            server.Queues = services.GetRequiredService<JobQueues>().Served;
            server.WorkerCount = options.Workers;
            server.SchedulePollingInterval = TimeSpan.FromSeconds(options.SchedulePollingSeconds);
            server.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
            server.StopTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
        });
        return builder;
    }

    /// <summary>
    /// Declares a queue this service's workers take jobs from, where <paramref name="served"/> says so (default: every
    /// instance); queues added first are served first.
    /// </summary>
    public static IServiceCollection AddJobQueue(this IServiceCollection services, string name, Func<IServiceProvider, bool>? served = null) =>
        services.AddSingleton(provider => new JobQueueName(name, served?.Invoke(provider) ?? true));

    /// <summary>The Hangfire dashboard, behind the dashboard policy (its own key, a signed-in browser; see DashboardSignIn.cs).</summary>
    public static IEndpointRouteBuilder MapQueue(this IEndpointRouteBuilder endpoints)
    {
        var path = endpoints.ServiceProvider.GetRequiredService<IOptions<QueueOptions>>().Value.Dashboard.Path;
        // Hangfire's stats endpoint reads a form and throws on anything but a POST (HEAD arrives here as a GET): only
        // its page script calls it, with a POST.
        endpoints.MapMethods($"{path.TrimEnd('/')}/stats", [HttpMethods.Get, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete],
                () => Results.StatusCode(StatusCodes.Status405MethodNotAllowed))
            .RequireAuthorization(DashboardSignIn.Policy).ExcludeFromDescription();
        endpoints.MapHangfireDashboard(path, new DashboardOptions
        {
            // Access is the endpoint's authorization policy; Hangfire's own filter (local requests only) would judge by address.
            Authorization = [],
            DisplayStorageConnectionString = false,
        }).RequireAuthorization(DashboardSignIn.Policy);
        endpoints.MapDashboardSignIn(path);
        return endpoints;
    }

    private static RedisStorage CreateRedisStorage(StackExchange.Redis.IConnectionMultiplexer connection, QueueOptions options) =>
        new(connection, new RedisStorageOptions
        {
            Prefix = "{hangfire}:",
            InvisibilityTimeout = TimeSpan.FromSeconds(options.InvisibilityTimeoutSeconds),
            FetchTimeout = TimeSpan.FromSeconds(options.FetchTimeoutSeconds),
        });

    /// <summary>
    /// Hangfire's global filters minus its default retry policy (10 attempts) and culture capture, plus ours, the metrics and tracing filters; job
    /// attributes such as [Queue] still apply.
    /// </summary>
    private static JobFilterProviderCollection CreateFilterProvider(IServiceProvider services)
    {
        var retry = services.GetRequiredService<IOptions<QueueOptions>>().Value.Retry;
        var filters = new JobFilterCollection();
        // CaptureCulture goes too: it stores two culture parameters with every job and reads each back, one Redis round
        // trip apiece, at every attempt, for jobs whose output does not depend on the culture of the thread.
        foreach (var filter in GlobalJobFilters.Filters.Where(f => f.Instance is not (AutomaticRetryAttribute or CaptureCultureAttribute)))
        {
            filters.Add(filter.Instance, filter.Order);
        }

        filters.Add(new AutomaticRetryAttribute
        {
            Attempts = retry.Attempts,
            DelayInSecondsByAttemptFunc = attempt => JobRetries.DelaySeconds(retry, attempt),
            OnAttemptsExceeded = AttemptsExceededAction.Fail,
            ExceptOn = [typeof(PermanentJobFailureException)],
        });
        filters.Add(services.GetRequiredService<QueueMetricsFilter>());
        filters.Add(services.GetRequiredService<JobTracingFilter>());
        return new JobFilterProviderCollection(filters, new JobFilterAttributeFilterProvider());
    }
}

/// <summary>A failure no retry can fix (an SMTP 5xx for the recipient, say): the job fails at once instead of retrying.</summary>
public class PermanentJobFailureException(string message, Exception inner) : Exception(message, inner);
