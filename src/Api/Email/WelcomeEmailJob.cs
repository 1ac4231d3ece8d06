using System.Diagnostics;
using Api.Queue;
using Hangfire;
using Hangfire.Server;
using MailKit.Net.Smtp;
using MimeKit;

namespace Api.Email;

/// <summary>
/// What the welcome email needs, carried in the job's arguments (copied from the outbox row), so the job needs no
/// database: it sends while the database is slow or down. <paramref name="TraceParent"/> is the dispatch's trace
/// context, which the job continues (null in jobs enqueued before it existed).
/// </summary>
public sealed record WelcomeEmail(Guid UserId, string Name, string Email, string? TraceParent = null);

/// <summary>A rejection that no retry can fix, such as an SMTP 5xx for the recipient: the job fails at once.</summary>
public sealed class PermanentEmailFailureException(string message, Exception inner) : PermanentJobFailureException(message, inner);

/// <summary>
/// One attempt to send a welcome email: the first straight from the outbox (<see cref="WelcomeEmailDispatcher"/>),
/// any retry as a job on the queue (<see cref="SendAsync"/>).
/// </summary>
internal sealed class WelcomeEmailJob(EmailSender sender, ILogger<WelcomeEmailJob> logger)
{
    [Queue(EmailExtensions.Queue)]
    public async Task SendAsync(WelcomeEmail email, PerformContext? context, CancellationToken cancellationToken)
    {
        try
        {
            await DeliverAsync(email, cancellationToken);
        }
        catch (PermanentEmailFailureException exception)
        {
            LogIfRejected(context?.BackgroundJob.Id, email, exception);
            throw;
        }
    }

    /// <summary>Sends the email once; a failure no retry can fix throws <see cref="PermanentEmailFailureException"/>.</summary>
    internal async Task DeliverAsync(WelcomeEmail email, CancellationToken cancellationToken)
    {
        // A child of the attempt's span (the dispatcher's, or the queue's in Queue/JobTracingFilter.cs), which continues
        // the sign-up; a job enqueued before the queue stored trace contexts continues the one its arguments carry.
        using var activity = Activity.Current is null
            ? EmailTelemetry.StartFrom(email.TraceParent, "WelcomeEmail job", ActivityKind.Consumer)
            : EmailTelemetry.Start("WelcomeEmail job", ActivityKind.Internal);
        activity?.SetTag("messaging.system", "hangfire").SetTag("messaging.destination.name", EmailExtensions.Queue);
        try
        {
            var message = new MimeMessage
            {
                // A stable id per user: a redelivery after a crash is recognisable as the same mail.
                MessageId = $"welcome-{email.UserId}@{ServiceDomain}",
                Subject = $"Welcome, {email.Name}!",
                Body = new TextPart("plain")
                {
                    Text = $"Hello {email.Name},\n\nyour account ({email.Email}) has been created. Welcome aboard!\n",
                },
            };
            message.To.Add(DeliverableAddress.Mailbox(email.Name, email.Email)); // a bad address fails at once, unretried
            await sender.SendAsync(message, cancellationToken);
        }
        catch (SmtpCommandException exception) when ((int)exception.StatusCode is >= 500 and < 600)
        {
            activity.RecordFailure(exception);
            throw new PermanentEmailFailureException(
                $"The mail server rejected the welcome email to {email.Email}: {(int)exception.StatusCode} {exception.Message}", exception);
        }
        catch (Exception exception)
        {
            activity.RecordFailure(exception);
            throw;
        }
    }

    /// <summary>An SMTP 5xx is logged as an error with the job that keeps the email (in the dashboard's Failed list).</summary>
    internal void LogIfRejected(string? jobId, WelcomeEmail email, Exception exception)
    {
        if (exception is PermanentEmailFailureException { InnerException: SmtpCommandException rejection })
        {
            logger.LogError(exception, "Job {JobId}: the mail server permanently rejected the welcome email to {Email} ({StatusCode}); not retrying",
                jobId, email.Email, (int)rejection.StatusCode);
        }
    }

    private const string ServiceDomain = "api.local";
}
