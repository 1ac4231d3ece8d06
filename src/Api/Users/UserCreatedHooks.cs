namespace Api.Users;

/// <summary>
/// Work that must happen for every created user or not at all, such as enqueueing the welcome email. It runs inside the
/// transaction that inserts the user: if it throws, the user is rolled back and the client gets 503, so nothing the
/// service answered 201 for is lost.
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
