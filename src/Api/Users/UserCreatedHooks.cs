namespace Api.Users;

/// <summary>
/// Work that must happen for every created user or not at all, such as adding the welcome email to the outbox. It runs
/// before the user is saved and may add its own rows to the same <c>AppDbContext</c>, which are saved in one transaction
/// with the user. If it throws, nothing is saved and the client gets 503, so nothing the service answered 201 for is
/// lost. Keep it to the database: a call to another server here would hold the request on that server's health.
/// </summary>
public interface IUserCreationStep
{
    Task RunAsync(User user, CancellationToken cancellationToken);
}

/// <summary>
/// Best-effort news of a committed user, such as a real-time broadcast. It runs after the commit; a failure is logged
/// and does not change the response.
/// </summary>
public interface IUserCreatedListener
{
    Task OnUserCreatedAsync(User user, CancellationToken cancellationToken);
}
