using Api.Users;
using Microsoft.AspNetCore.SignalR;

namespace Api.Realtime;

/// <summary>Tells every connected client about a committed user. Best effort: a lost broadcast never fails the request.</summary>
internal sealed class UserCreatedBroadcast(IHubContext<NotificationsHub, INotificationsClient> hub) : IUserCreatedListener
{
    public Task OnUserCreatedAsync(User user, CancellationToken cancellationToken) =>
        hub.Clients.All.UserCreated(new UserCreatedEvent(user.Id, user.Name));
}
