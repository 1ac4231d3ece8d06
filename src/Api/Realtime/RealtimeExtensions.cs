using Api.Data;
using Api.Jwt;
using Api.Observability;
using Api.ScaleOut;
//#if (users)
using Api.Users;
//#endif
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using StackExchange.Redis;

namespace Api.Realtime;

public static class RealtimeExtensions
{
    public const string HubPath = "/ws";

    /// <summary>Prefix of the Redis channels the backplane publishes on, so several apps can share one Redis.</summary>
    public const string RedisChannelPrefix = "Api.Realtime";

    public static IHostApplicationBuilder AddRealtime(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<RealtimeOptions>(RealtimeOptions.Section);

        builder.Services.AddSingleton<RealtimeMetrics>();
//#if (users)
        builder.Services.AddSingleton<IUserCreatedListener, UserCreatedBroadcast>();
//#endif

        var signalR = builder.Services.AddSignalR();
        builder.Services.AddOptions<HubOptions>().Configure<IOptions<RealtimeOptions>>((hub, realtime) =>
        {
            hub.KeepAliveInterval = realtime.Value.KeepAliveInterval;
            hub.ClientTimeoutInterval = realtime.Value.ClientTimeoutInterval;
        });

        // SignalR's client timeout starts only with the first message after the handshake (a client's first ping comes
        // after its own keep-alive interval, 15 s by default), so a client whose network vanishes before then would stay
        // counted forever. WebSocket pings that must be answered within the same timeout close that gap.
        builder.Services.AddOptions<Microsoft.AspNetCore.Builder.WebSocketOptions>().Configure<IOptions<RealtimeOptions>>((webSockets, realtime) =>
        {
            webSockets.KeepAliveInterval = realtime.Value.KeepAliveInterval;
            webSockets.KeepAliveTimeout = realtime.Value.ClientTimeoutInterval;
        });

        // With Redis, a message sent on one instance reaches the clients of all of them (scale-out).
        var redis = builder.Configuration.GetConnectionString(DataExtensions.RedisConnectionName);
        if (!string.IsNullOrWhiteSpace(redis))
        {
            signalR.AddStackExchangeRedis(redis, options =>
            {
                options.Configuration.ChannelPrefix = RedisChannel.Literal(RedisChannelPrefix);
                // While Redis is down a broadcast fails at once instead of queueing for the sync timeout: SignalR
                // promises no delivery anyway, and the request that triggered it should not wait seconds.
                options.Configuration.BacklogPolicy = BacklogPolicy.FailFast;
            });
            builder.Services.AddSingleton<BackplaneConnection>();
            builder.Services.AddOptions<RedisOptions>().Configure<IOptions<RealtimeOptions>, BackplaneConnection>((options, realtime, backplane) =>
            {
                var timeout = (int)realtime.Value.RedisTimeout.TotalMilliseconds;
                options.Configuration.ConnectTimeout = options.Configuration.SyncTimeout = options.Configuration.AsyncTimeout = timeout;
                options.ConnectionFactory = log => backplane.ConnectAsync(options.Configuration, log);
            });
            // Its own entry in /health/ready: a broadcast needs this connection, not the job storage's.
            builder.Services.AddSingleton<BackplaneHealthCheck>();
            builder.Services.AddReadinessCheck<BackplaneHealthCheck>("realtime-backplane", HealthStatus.Degraded);
        }

        return builder;
    }

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder endpoints)
    {
        // Created now rather than with the first connection, so the gauge is exported (as 0) from start-up.
        _ = endpoints.ServiceProvider.GetRequiredService<RealtimeMetrics>();
        // And the lifetime manager, which opens the Redis backplane: connected before readiness asks, not at the first client.
        _ = endpoints.ServiceProvider.GetRequiredService<HubLifetimeManager<NotificationsHub>>();

        // WebSockets only: a client may skip negotiation, and behind a load balancer no sticky sessions are needed
        // (the other transports make several requests per connection, which must all reach the same instance).
        // Not in the HTTP metrics: a WebSocket request lasts as long as its connection and would swamp the latency buckets.
        // MapHub spelled out (MapConnections, UseHub, HubMetadata), to put the silent-client guard in front of the hub.
        var clientTimeout = endpoints.ServiceProvider.GetRequiredService<IOptions<RealtimeOptions>>().Value.ClientTimeoutInterval;
        endpoints.MapConnections(HubPath, new HttpConnectionDispatcherOptions { Transports = HttpTransportType.WebSockets },
                connection => connection.UseDrain().UseSilentClientGuard(clientTimeout).UseHub<NotificationsHub>())
            // As MapHub does: the hub class's attributes ([Authorize] and the like) become the endpoint's metadata.
            .WithMetadata([.. typeof(NotificationsHub).GetCustomAttributes(inherit: true), new HubMetadata(typeof(NotificationsHub))])
            .RequireAuthorization(JwtExtensions.ApiPolicy)
            .DisableHttpMetrics();
        return endpoints;
    }
}
