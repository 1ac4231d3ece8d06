using Api.Queue;
using Api.Users;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Api.Email;

public static class EmailExtensions
{
    /// <summary>The queue the welcome email's jobs run on.</summary>
    public const string Queue = "email";

    /// <summary>
    /// The welcome email: saved in an outbox with its user, sent from there by a dispatcher over SMTP (or written to .eml
    /// files when no SMTP server is configured); a failed send is retried as a job on the queue (Queue/).
    /// </summary>
    public static IHostApplicationBuilder AddEmail(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<EmailOptions>(EmailOptions.Section);
        // An instance that does not dispatch runs no email job either (the retries of failed sends): it holds no SMTP connection.
        builder.Services.AddJobQueue(Queue, services => services.GetRequiredService<IOptions<EmailOptions>>().Value.Outbox.Dispatch);
        builder.Services.AddSingleton<EmailSender>();
        builder.Services.AddSingleton<WelcomeEmailJob>();
        builder.Services.AddScoped<IUserCreationStep, AddWelcomeEmailToOutbox>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WelcomeEmailDispatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<WelcomeEmailDispatcher>());
        builder.Services.AddSingleton<IUserCreatedListener>(services => services.GetRequiredService<WelcomeEmailDispatcher>());
        return builder;
    }
}
