using Api.Users;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Api.Realtime;

/// <summary>Tells every connected client about a committed user. Best effort: a lost broadcast never fails the request.</summary>
internal sealed partial class UserCreatedBroadcast(
    IHubContext<NotificationsHub, INotificationsClient> hub,
    IOptions<RealtimeOptions> options,
    ILogger<UserCreatedBroadcast> logger) : IUserCreatedListener
{
    public async Task OnUserCreatedAsync(User user, CancellationToken cancellationToken)
    {
        var sending = hub.Clients.All.UserCreated(new UserCreatedEvent(user.Id, user.Name));
        try
        {
            await sending.WaitAsync(options.Value.BroadcastTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // A hung backplane (Redis) answers within Realtime:RedisTimeout at the latest; the request does not wait for
            // that. The send goes on by itself, and its failure, if any, is logged rather than left unobserved.
            LogBroadcastSlow(user.Id, options.Value.BroadcastTimeout);
            _ = sending.ContinueWith(failed => LogBroadcastFailed(failed.Exception!, user.Id),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broadcast of user {UserId} is still pending after {Timeout}; the request goes on without it")]
    private partial void LogBroadcastSlow(Guid userId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broadcast of user {UserId} failed")]
    private partial void LogBroadcastFailed(Exception exception, Guid userId);
}
