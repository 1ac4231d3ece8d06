using Api.Observability;
using Api.Users;
using Microsoft.AspNetCore.SignalR;

namespace Api.Realtime;

/// <summary>Tells every connected client about a committed user. Best effort: a lost broadcast never fails the request.</summary>
internal sealed class UserCreatedBroadcast(IHubContext<NotificationsHub, INotificationsClient> hub, ILogger<UserCreatedBroadcast> logger) : IUserCreatedListener
{
    // With the Redis backplane down every broadcast fails at once; one warning per outage, not one per created user.
    private readonly OutageLog _backplaneOutage = new(logger, "The SignalR backplane (Redis)");

    public async Task OnUserCreatedAsync(User user, CancellationToken cancellationToken)
    {
        try
        {
            await hub.Clients.All.UserCreated(new UserCreatedEvent(user.Id, user.Name));
            _backplaneOutage.Succeeded();
        }
        catch (StackExchange.Redis.RedisException exception)
        {
            _backplaneOutage.Failed(exception);
        }
    }
}
