using StackExchange.Redis;

namespace Api.Observability;

/// <summary>
/// The readiness probe of a Redis connection, the same for each the app holds (job storage, SignalR backplane): healthy
/// when a ping answers, the registration's failure status when it throws or says nothing before the check's own timeout
/// (Health:CheckTimeoutMilliseconds cancels the token). Probes come every few seconds; the health-check service's own
/// per-probe log is off (appsettings.json) and this says when the outage starts and ends, so it lives in a singleton.
/// </summary>
internal sealed class RedisHealthProbe(ILogger logger, string dependency)
{
    private readonly OutageLog _outage = new(logger, dependency);

    /// <param name="unavailable">What the outage means for a reader of the readiness report.</param>
    public async Task<HealthCheckResult> CheckAsync(Func<Task> ping, HealthCheckContext context, string unavailable, CancellationToken cancellationToken)
    {
        try
        {
            await ping().WaitAsync(cancellationToken);
            _outage.Succeeded();
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException
            || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            _outage.Failed(exception is OperationCanceledException ? new TimeoutException("no answer within the health check's timeout", exception) : exception);
            return new HealthCheckResult(context.Registration.FailureStatus, unavailable, exception);
        }
    }
}
