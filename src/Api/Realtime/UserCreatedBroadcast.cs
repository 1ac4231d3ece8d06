using System.Diagnostics;
using Api.Observability;
using Api.Users;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace Api.Realtime;

/// <summary>Tells every connected client about a committed user. Best effort: a lost broadcast never fails the request.</summary>
internal sealed class UserCreatedBroadcast(
    IHubContext<NotificationsHub, INotificationsClient> hub,
    IOptions<RealtimeOptions> options,
    ILogger<UserCreatedBroadcast> logger) : IUserCreatedListener
{
    /// <summary>The broadcast's span, a child of the sign-up request (SignalR makes none for messages sent from outside a hub).</summary>
    public const string ActivitySourceName = "Api.Realtime";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    // With the Redis backplane down or hung every broadcast fails or times out; one warning per outage, not one per user.
    private readonly OutageLog _backplaneOutage = new(logger, "The SignalR backplane (Redis)");

    public async Task OnUserCreatedAsync(User user, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("signalr broadcast UserCreated", ActivityKind.Producer);
        var sending = hub.Clients.All.UserCreated(new UserCreatedEvent(user.Id, user.Name));
        try
        {
            await sending.WaitAsync(options.Value.BroadcastTimeout, cancellationToken);
            _backplaneOutage.Succeeded();
        }
        catch (TimeoutException exception)
        {
            // A hung backplane answers within Realtime:RedisTimeout at the latest; the request does not wait for that. The
            // send goes on by itself, and its failure, if any, goes to the outage log rather than unobserved.
            activity?.SetStatus(ActivityStatusCode.Error, "timed out");
            _backplaneOutage.Failed(exception);
            _ = sending.ContinueWith(failed => _backplaneOutage.Failed(failed.Exception!.GetBaseException()),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (RedisException exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity?.AddException(exception);
            _backplaneOutage.Failed(exception);
        }
    }
}
