using Api.Observability;

namespace Api.Queue;

/// <summary>Whether the job storage answers; while it does not, new jobs pile up in their outbox.</summary>
internal sealed class QueueRedisHealthCheck(QueueRedisConnection redis, ILogger<QueueRedisHealthCheck> logger) : IHealthCheck
{
    private readonly RedisHealthProbe _probe = new(logger, "The job storage (Redis)");

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        _probe.CheckAsync(() => redis.Connection.GetDatabase().PingAsync(), context,
            "The job storage (Redis) does not answer; new jobs wait in their outbox.", cancellationToken);
}
