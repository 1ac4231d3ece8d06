using Api.Observability;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Api.Queue;

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
