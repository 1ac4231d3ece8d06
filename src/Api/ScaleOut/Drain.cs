using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Api.ScaleOut;

/// <summary>
/// What SIGTERM means here: readiness answers 503 at once, the instance keeps serving for <c>Shutdown:DrainSeconds</c>
/// while load balancers take it out, then asks its WebSocket clients to reconnect (SignalR's close message with
/// allowReconnect, then a close frame) and only then stops the host, which stops accepting, lets in-flight requests
/// and running jobs finish within <c>Shutdown:GraceSeconds</c> (jobs still running then go back to the queue), and
/// flushes telemetry as it disposes. ASP.NET Core's own console lifetime would stop the host the moment SIGTERM
/// arrives: the port closed while the balancer still sent requests to it.
/// </summary>
internal sealed partial class Drain(IHostApplicationLifetime lifetime, IOptions<ShutdownOptions> options, DrainedConnections connections, ILogger<Drain> logger)
{
    private int _begun;
    private Task _draining = Task.CompletedTask;

    public bool IsDraining => Volatile.Read(ref _begun) == 1;

    public void Begin()
    {
        if (Interlocked.Exchange(ref _begun, 1) == 1)
        {
            return;
        }

        LogDraining(options.Value.DrainSeconds);
        _draining = DrainThenStopAsync();
    }

    private async Task DrainThenStopAsync()
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(options.Value.DrainSeconds), lifetime.ApplicationStopping);
            await connections.CloseAllAsync(TimeSpan.FromSeconds(2));
        }
        catch (OperationCanceledException)
        {
            // Stopped by other means (a second signal) meanwhile.
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIGTERM: /health/ready answers 503, serving for {DrainSeconds} s more before stopping")]
    private partial void LogDraining(int drainSeconds);
}

/// <summary>The host's lifetime: SIGTERM drains first (<see cref="Drain"/>); SIGINT (Ctrl+C) and SIGQUIT stop at once.</summary>
internal sealed partial class DrainingLifetime(Drain drain, IHostApplicationLifetime lifetime, IHostEnvironment environment, ILoggerFactory loggers) : IHostLifetime, IDisposable
{
    // The console lifetime's category, so its familiar start-up lines stay where people look for them.
    private readonly ILogger _logger = loggers.CreateLogger("Microsoft.Hosting.Lifetime");
    private readonly List<PosixSignalRegistration> _signals = [];

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => LogStarted(environment.EnvironmentName, environment.ContentRootPath));
        lifetime.ApplicationStopping.Register(LogStopping);
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true; // the process ends when Main returns, not now
            drain.Begin();
        }));
        foreach (var immediate in new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT })
        {
            _signals.Add(PosixSignalRegistration.Create(immediate, signal =>
            {
                signal.Cancel = true;
                lifetime.StopApplication();
            }));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _signals.ForEach(signal => signal.Dispose());

    [LoggerMessage(Level = LogLevel.Information, Message = "Application started. Hosting environment: {Environment}; content root path: {ContentRoot}")]
    private partial void LogStarted(string environment, string contentRoot);

    [LoggerMessage(Level = LogLevel.Information, Message = "Application is shutting down...")]
    private partial void LogStopping();
}

/// <summary>
/// Readiness: unhealthy until the host has started (migrations ran before the listener opened; the job server and the
/// backplane start with the host), and from SIGTERM on, so balancers stop sending requests while the instance still serves.
/// </summary>
internal sealed class DrainHealthCheck(Drain drain, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            drain.IsDraining ? HealthCheckResult.Unhealthy("Shutting down: draining.")
            : !lifetime.ApplicationStarted.IsCancellationRequested ? HealthCheckResult.Unhealthy("Starting.")
            : HealthCheckResult.Healthy());
}

/// <summary>
/// The open SignalR connections, so that a drain can ask each client to reconnect elsewhere. RequestClose is the way
/// SignalR itself ends a connection whose sign-in expired: the hub sends its close message with allowReconnect set,
/// which clients with automatic reconnect act on, and the WebSocket ends with a close frame instead of a reset.
/// </summary>
internal sealed class DrainedConnections
{
    private readonly ConcurrentDictionary<string, ConnectionContext> _open = new();
    private volatile bool _closing;

    public int Count => _open.Count;

    public async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        _open[connection.ConnectionId] = connection;
        if (_closing)
        {
            // A client that reconnected to this instance (the balancer had not taken it out yet, or it is the only
            // one) is sent on too; kept, it would hold the host's stop until Shutdown:GraceSeconds ran out. Not during
            // its handshake: SignalR's JavaScript client 10.0 throws, uncaught, when a connection it is still making
            // closes (seen in JavaScriptClientTests), so a second after it opened.
            _ = CloseAfterHandshakeAsync(connection);
        }

        try
        {
            await next(connection);
        }
        finally
        {
            _open.TryRemove(connection.ConnectionId, out _);
        }
    }

    private static async Task CloseAfterHandshakeAsync(ConnectionContext connection)
    {
        await Task.Delay(TimeSpan.FromSeconds(1));
        connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
    }

    public async Task CloseAllAsync(TimeSpan patience)
    {
        _closing = true;
        foreach (var connection in _open.Values)
        {
            connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }

        var deadline = DateTime.UtcNow + patience;
        while (!_open.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }
}

public static class DrainConnectionExtensions
{
    /// <summary>Tracks the hub's connections so that SIGTERM's drain closes them with SignalR's close message.</summary>
    public static IConnectionBuilder UseDrain(this IConnectionBuilder connection)
    {
        var open = connection.ApplicationServices.GetRequiredService<DrainedConnections>();
        return connection.Use(next => context => open.RunAsync(context, next));
    }
}
