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

internal sealed class WelcomeEmailJob(EmailSender sender, ILogger<WelcomeEmailJob> logger)
{
    [Queue(EmailExtensions.Queue)]
    public async Task SendAsync(WelcomeEmail email, PerformContext? context, CancellationToken cancellationToken)
    {
        // A child of the queue's attempt span (Queue/JobTracingFilter.cs), which continues the dispatch; a job enqueued
        // before the queue stored trace contexts continues the one its arguments carry.
        using var activity = Activity.Current is null
            ? EmailTelemetry.StartFrom(email.TraceParent, "WelcomeEmail job", ActivityKind.Consumer)
            : EmailTelemetry.Start("WelcomeEmail job", ActivityKind.Internal);
        activity?.SetTag("messaging.system", "hangfire").SetTag("messaging.destination.name", EmailExtensions.Queue)
            .SetTag("messaging.message.id", context?.BackgroundJob.Id);
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
        message.To.Add(DeliverableAddress.Mailbox(email.Name, email.Email)); // a bad address fails the job at once, unretried

        try
        {
            await sender.SendAsync(message, cancellationToken);
        }
        catch (SmtpCommandException exception) when ((int)exception.StatusCode is >= 500 and < 600)
        {
            activity.RecordFailure(exception);
            logger.LogError(exception, "Job {JobId}: the mail server permanently rejected the welcome email to {Email} ({StatusCode}); not retrying",
                context?.BackgroundJob.Id, email.Email, (int)exception.StatusCode);
            throw new PermanentEmailFailureException(
                $"The mail server rejected the welcome email to {email.Email}: {(int)exception.StatusCode} {exception.Message}", exception);
        }
        catch (Exception exception)
        {
            activity.RecordFailure(exception);
            throw;
        }
    }

    private const string ServiceDomain = "api.local";
}
