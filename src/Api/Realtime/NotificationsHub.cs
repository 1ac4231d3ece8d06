using Microsoft.AspNetCore.SignalR;

namespace Api.Realtime;

/// <summary>What the server sends to connected clients. SignalR turns each call into a message whose target is the method name.</summary>
public interface INotificationsClient
{
    /// <summary>A user was created (on any instance, when the Redis backplane is on).</summary>
    [HubMethodName("userCreated")]
    Task UserCreated(UserCreatedEvent user);
}

public sealed record UserCreatedEvent(Guid Id, string Name);

public sealed record Pong(string Message, DateTimeOffset ServerTime);

/// <summary>
/// The hub at <c>/ws</c>. Clients listen for <see cref="INotificationsClient"/> events and may call <see cref="Ping"/> or
/// <see cref="Echo"/>.
/// </summary>
internal sealed class NotificationsHub(RealtimeMetrics metrics) : Hub<INotificationsClient>
{
    // Marks a connection that was counted, so that only those are uncounted: the gauge cannot go below zero even if
    // SignalR ever reported a disconnect for a connection whose OnConnectedAsync did not finish.
    private static readonly object Counted = new();

    // Two methods rather than Ping(message = null): SignalR binds arguments by count and supports neither default values
    // nor overloads, so an optional argument would fail the call that leaves it out.

    /// <summary>Answers "pong" at once: lets a client measure its round trip or check that the connection is alive.</summary>
    public Pong Ping() => new("pong", DateTimeOffset.UtcNow);

    /// <summary>Answers with the client's own message, so a client can match an answer to its call.</summary>
    public Pong Echo(string message) => new(message, DateTimeOffset.UtcNow);

    public override Task OnConnectedAsync()
    {
        Context.Items[Counted] = Counted;
        metrics.Connected();
        return Task.CompletedTask;
    }

    // SignalR calls this however the connection ended: a close, a dropped socket, or the client timeout.
    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.Remove(Counted))
        {
            metrics.Disconnected();
        }

        return Task.CompletedTask;
    }
}
