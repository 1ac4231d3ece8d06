using Api.Observability;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace Api.Realtime;

/// <summary>The SignalR backplane's own Redis connection, kept when SignalR opens it so readiness can ask it.</summary>
internal sealed class BackplaneConnection
{
    private volatile IConnectionMultiplexer? _connection;

    public IConnectionMultiplexer? Connection => _connection;

    /// <summary>
    /// Returns only once Redis has answered. SignalR subscribes to its channels right after this returns, and a
    /// subscription that fails then (Redis down at start-up) is never made again: broadcasts would never arrive although
    /// the connection comes back. Meanwhile the instance is not ready, and broadcasts give up after their own timeout.
    /// </summary>
    public async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration, TextWriter log)
    {
        configuration.AbortOnConnectFail = true;
        while (true)
        {
            try
            {
                return _connection = await ConnectionMultiplexer.ConnectAsync(configuration, log);
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }
}

/// <summary>
/// Whether broadcasts reach the other instances. Unhealthy until the backplane has connected (its connection exists
/// only once Redis answered): an instance that joins the fleet without it would split every broadcast. Degraded when it
/// fails after that, as the job storage is: every instance shares the one Redis, and taking them all out of the
/// balancer would turn lost broadcasts into an outage.
/// </summary>
internal sealed class BackplaneHealthCheck(HubLifetimeManager<NotificationsHub> lifetimeManager, BackplaneConnection backplane,
    ILogger<BackplaneHealthCheck> logger) : IHealthCheck
{
    private readonly RedisHealthProbe _probe = new(logger, "The SignalR backplane (readiness)");

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // The lifetime manager (a constructor parameter) opens the backplane when it is created: this check creates it.
        GC.KeepAlive(lifetimeManager);
        return backplane.Connection is not { } connection
            ? Task.FromResult(HealthCheckResult.Unhealthy("The SignalR backplane (Redis) is connecting."))
            : _probe.CheckAsync(() => connection.GetSubscriber().PingAsync(), context,
                "The SignalR backplane (Redis) does not answer; broadcasts reach this instance's clients only.", cancellationToken);
    }
}
