using Api.Data;
using Api.Observability;
using Api.Users;
using Hangfire;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.Redis.StackExchange;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Api.Email;

public static class EmailExtensions
{
    /// <summary>
    /// The welcome email on a durable Hangfire queue: in-memory job storage by default, Redis when
    /// <c>ConnectionStrings:Redis</c> is set (jobs then survive a restart and instances share one queue).
    /// </summary>
    public static IHostApplicationBuilder AddEmail(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<QueueOptions>().BindConfiguration(QueueOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var redis = builder.Configuration.GetConnectionString(DataExtensions.RedisConnectionName);
        // Storage, filters and activator are registered in the container before AddHangfire, whose TryAdd calls then
        // keep them: each app instance (and each test host) gets its own, not Hangfire's process-wide statics.
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton<JobStorage>(_ => new InMemoryStorage());
        }
        else
        {
            builder.Services.AddSingleton(_ => QueueRedisConnection.Connect(redis));
            builder.Services.AddSingleton<JobStorage>(services => CreateRedisStorage(
                services.GetRequiredService<QueueRedisConnection>().Connection, services.GetRequiredService<IOptions<QueueOptions>>().Value));
            // Degraded, not unhealthy: without Redis the API still serves everything and new emails wait in the outbox, so
            // a load balancer should keep sending traffic (the status still shows in /health/ready and in alerts).
            builder.Services.AddHealthChecks().AddCheck<QueueRedisHealthCheck>("queue-redis", HealthStatus.Degraded, [ObservabilityExtensions.ReadyTag]);
        }

        builder.Services.AddSingleton<QueueMetrics>();
        builder.Services.AddSingleton<QueueMetricsFilter>();
        builder.Services.AddSingleton<IJobFilterProvider>(CreateFilterProvider);
        builder.Services.AddHangfire((services, configuration) => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseStorage(services.GetRequiredService<JobStorage>()));
        builder.Services.AddHangfireServer((services, server) =>
        {
            var options = services.GetRequiredService<IOptions<QueueOptions>>().Value;
            server.Queues = QueueMetrics.Queues;
            server.WorkerCount = options.Workers;
            server.SchedulePollingInterval = TimeSpan.FromSeconds(options.SchedulePollingSeconds);
            server.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
            server.StopTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
        });

        builder.Services.AddSingleton<EmailSender>();
        builder.Services.AddScoped<WelcomeEmailJob>();
        builder.Services.AddScoped<IUserCreationStep, AddWelcomeEmailToOutbox>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WelcomeEmailDispatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<WelcomeEmailDispatcher>());
        builder.Services.AddSingleton<IUserCreatedListener>(services => services.GetRequiredService<WelcomeEmailDispatcher>());
        return builder;
    }

    /// <summary>The Hangfire dashboard: local requests, or requests carrying the dashboard (or metrics) key.</summary>
    public static IEndpointRouteBuilder MapEmail(this IEndpointRouteBuilder endpoints)
    {
        var queue = endpoints.ServiceProvider.GetRequiredService<IOptions<QueueOptions>>().Value;
        var metrics = endpoints.ServiceProvider.GetRequiredService<IOptions<MetricsOptions>>().Value;
        endpoints.MapHangfireDashboard(queue.Dashboard.Path, new DashboardOptions
        {
            Authorization = [new DashboardAccess(queue.Dashboard.ApiKey ?? metrics.ApiKey)],
            DisplayStorageConnectionString = false,
        });
        return endpoints;
    }

    private static RedisStorage CreateRedisStorage(IConnectionMultiplexer connection, QueueOptions options) =>
        new(connection, new RedisStorageOptions
        {
            Prefix = "{hangfire}:",
            InvisibilityTimeout = TimeSpan.FromSeconds(options.InvisibilityTimeoutSeconds),
            FetchTimeout = TimeSpan.FromSeconds(options.FetchTimeoutSeconds),
        });

    /// <summary>
    /// Hangfire's global filters minus its default retry policy (10 attempts), plus ours and the metrics filter; job
    /// attributes such as [Queue] still apply.
    /// </summary>
    private static JobFilterProviderCollection CreateFilterProvider(IServiceProvider services)
    {
        var retry = services.GetRequiredService<IOptions<QueueOptions>>().Value.Retry;
        var filters = new JobFilterCollection();
        foreach (var filter in GlobalJobFilters.Filters.Where(f => f.Instance is not AutomaticRetryAttribute))
        {
            filters.Add(filter.Instance, filter.Order);
        }

        filters.Add(new AutomaticRetryAttribute
        {
            Attempts = retry.Attempts,
            DelayInSecondsByAttemptFunc = attempt => (int)Math.Min(3600, retry.DelaySeconds * Math.Pow(2, Math.Max(0, attempt - 1))),
            OnAttemptsExceeded = AttemptsExceededAction.Fail,
            ExceptOn = [typeof(PermanentEmailFailureException)],
        });
        filters.Add(services.GetRequiredService<QueueMetricsFilter>());
        return new JobFilterProviderCollection(filters, new JobFilterAttributeFilterProvider());
    }
}

/// <summary>The job storage's own Redis connection (one per app; the SignalR backplane keeps its own).</summary>
internal sealed class QueueRedisConnection(ConnectionMultiplexer connection, SocketManager sockets) : IDisposable
{
    public IConnectionMultiplexer Connection => connection;

    public static QueueRedisConnection Connect(string connectionString)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        // Start even while Redis is down and reconnect in the background; until then welcome emails wait in the outbox
        // and /health/ready reports the queue degraded.
        configuration.AbortOnConnectFail = false;
        // Hangfire's Redis calls are synchronous (its workers, the outbox dispatcher, the dashboard). With the default
        // socket manager, replies are read on the .NET thread pool, which blocked callers can starve; own reader
        // threads keep replies flowing whatever the pool is doing.
        var sockets = new SocketManager("Api.Queue");
        configuration.SocketManager = sockets;
        return new QueueRedisConnection(ConnectionMultiplexer.Connect(configuration), sockets);
    }

    public void Dispose()
    {
        connection.Dispose();
        sockets.Dispose();
    }
}

/// <summary>Whether the job storage answers; while it does not, welcome emails pile up in the outbox.</summary>
internal sealed class QueueRedisHealthCheck(QueueRedisConnection redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.Connection.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The job storage (Redis) does not answer; emails wait in the outbox.", exception);
        }
    }
}
