using Api.Users;
using Hangfire;

namespace Api.Email;

/// <summary>
/// Enqueues the welcome email inside the user's transaction: if the job storage is down, Enqueue throws, the user is
/// rolled back and the client gets 503, so no user the API answered 201 for is left without an email.
/// </summary>
internal sealed class EnqueueWelcomeEmail(IBackgroundJobClient jobs) : IUserCreationStep
{
    public Task RunAsync(User user, CancellationToken cancellationToken)
    {
        var email = new WelcomeEmail(user.Id, user.Name, user.Email);
        jobs.Enqueue<WelcomeEmailJob>(job => job.SendAsync(email, null, CancellationToken.None));
        return Task.CompletedTask;
    }
}
