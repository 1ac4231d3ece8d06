using System.Diagnostics;
using Api.Users;
using Microsoft.AspNetCore.SignalR;

namespace Api.Realtime;

/// <summary>Tells every connected client about a committed user. Best effort: a lost broadcast never fails the request.</summary>
internal sealed class UserCreatedBroadcast(IHubContext<NotificationsHub, INotificationsClient> hub) : IUserCreatedListener
{
    /// <summary>The broadcast's span, a child of the sign-up request (SignalR makes none for messages sent from outside a hub).</summary>
    public const string ActivitySourceName = "Api.Realtime";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    public async Task OnUserCreatedAsync(User user, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("signalr broadcast UserCreated", ActivityKind.Producer);
        try
        {
            await hub.Clients.All.UserCreated(new UserCreatedEvent(user.Id, user.Name));
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity?.AddException(exception);
            throw;
        }
    }
}
