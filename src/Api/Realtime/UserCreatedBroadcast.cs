using System.Diagnostics;
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
    /// <summary>The broadcast's span, a child of the sign-up request (SignalR makes none for messages sent from outside a hub).</summary>
    public const string ActivitySourceName = "Api.Realtime";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    public async Task OnUserCreatedAsync(User user, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("signalr broadcast UserCreated", ActivityKind.Producer);
        var sending = hub.Clients.All.UserCreated(new UserCreatedEvent(user.Id, user.Name));
        try
        {
            await sending.WaitAsync(options.Value.BroadcastTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // A hung backplane (Redis) answers within Realtime:RedisTimeout at the latest; the request does not wait for
            // that. The send goes on by itself, and its failure, if any, is logged rather than left unobserved.
            activity?.SetStatus(ActivityStatusCode.Error, "timed out");
            LogBroadcastSlow(user.Id, options.Value.BroadcastTimeout);
            _ = sending.ContinueWith(failed => LogBroadcastFailed(failed.Exception!, user.Id),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity?.AddException(exception);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broadcast of user {UserId} is still pending after {Timeout}; the request goes on without it")]
    private partial void LogBroadcastSlow(Guid userId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broadcast of user {UserId} failed")]
    private partial void LogBroadcastFailed(Exception exception, Guid userId);
}
