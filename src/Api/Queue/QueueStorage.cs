using Api.Observability;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Api.Queue;

/// <summary>The job storage's own Redis connection (one per app; the SignalR backplane keeps its own).</summary>
internal sealed class QueueRedisConnection(ConnectionMultiplexer connection, SocketManager sockets) : IDisposable
{
    public IConnectionMultiplexer Connection => connection;

    public static QueueRedisConnection Connect(string connectionString, QueueOptions options)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        // Queue:StorageTimeoutMilliseconds, not the connection string, decides how long a call may wait: the library's
        // 5 s default would hold each worker and the outbox dispatcher that long per call on a hung Redis.
        configuration.ConnectTimeout = configuration.SyncTimeout = configuration.AsyncTimeout = options.StorageTimeoutMilliseconds;
        // Start even while Redis is down and reconnect in the background; until then jobs wait in their outbox and
        // /health/ready reports the queue degraded.
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

/// <summary>Whether the job storage answers; while it does not, new jobs pile up in their outbox.</summary>
internal sealed class QueueRedisHealthCheck(QueueRedisConnection redis, ILogger<QueueRedisHealthCheck> logger) : IHealthCheck
{
    // Probes come every few seconds; the health-check service's own per-probe log is off (appsettings.json) and this
    // says when the outage starts and ends (a singleton, so the state outlives one probe).
    private readonly OutageLog _outage = new(logger, "The job storage (Redis)");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var outage = _outage;
        try
        {
            await redis.Connection.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            outage.Succeeded();
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException
            || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Cancelled: the check's own timeout (Health:CheckTimeoutMilliseconds) ran out while Redis said nothing.
            outage.Failed(exception is OperationCanceledException ? new TimeoutException("no answer within the health check's timeout", exception) : exception);
            return new HealthCheckResult(context.Registration.FailureStatus, "The job storage (Redis) does not answer; new jobs wait in their outbox.", exception);
        }
    }
}
