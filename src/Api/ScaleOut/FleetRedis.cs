using StackExchange.Redis;

namespace Api.ScaleOut;

/// <summary>
/// The Redis connection of what every instance must share besides jobs and broadcasts: the Data Protection key ring
/// and the sign-up rate limit's counters. Its own connection, with timeouts short enough that a hung Redis costs a
/// request at most <see cref="Timeout"/> (the rate limit then falls back to counting in memory). 1 s, not less: on a
/// busy host a healthy Redis' answer can take a few hundred milliseconds to be read, and each false alarm would let
/// clients through on the local count.
/// </summary>
internal sealed class FleetRedis(ConnectionMultiplexer connection) : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    public IConnectionMultiplexer Connection => connection;

    public static FleetRedis Connect(string connectionString)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        configuration.AsyncTimeout = configuration.SyncTimeout = (int)Timeout.TotalMilliseconds;
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
        // Start while Redis is down and reconnect in the background; a call meanwhile fails at once rather than queueing.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ClientName ??= "Api.ScaleOut";
        return new FleetRedis(ConnectionMultiplexer.Connect(configuration));
    }

    public void Dispose() => connection.Dispose();
}
