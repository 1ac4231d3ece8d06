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
