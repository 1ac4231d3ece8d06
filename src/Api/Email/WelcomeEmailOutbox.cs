using Api.Data;
using Api.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Api.Email;

/// <summary>
/// A welcome email not yet handed to the job queue: a row saved in the same transaction as its user (the transactional
/// outbox pattern). Creating a user then needs only the database; <see cref="WelcomeEmailDispatcher"/> sends the rows'
/// emails (a failed one goes to the Hangfire queue), so a slow or dead Redis or SMTP server neither blocks requests nor loses an email.
/// </summary>
public sealed class PendingWelcomeEmail
{
    /// <summary>One welcome email per user: the user's id is the key.</summary>
    public Guid UserId { get; init; }

    public required string Name { get; init; }

    public required string Email { get; init; }

    /// <summary>Unix time in milliseconds until which a dispatcher owns the row; 0 while nobody does.</summary>
    public long ClaimedUntil { get; set; }

    /// <summary>The batch that owns the row; lets a dispatcher read back exactly the rows its claim won.</summary>
    public Guid? ClaimToken { get; set; }

    /// <summary>
    /// The sign-up request's W3C trace context (<c>00-{trace id}-{span id}-{flags}</c>), so the email's dispatch, job
    /// and SMTP send join the sign-up's trace; null when the request had none.
    /// </summary>
    public string? TraceParent { get; init; }
}

internal sealed class PendingWelcomeEmailConfiguration : IEntityTypeConfiguration<PendingWelcomeEmail>
{
    /// <summary>A version-00 traceparent is always this long; EmailTelemetry writes no other.</summary>
    private const int TraceParentLength = 55;

    public void Configure(EntityTypeBuilder<PendingWelcomeEmail> pending)
    {
        pending.ToTable("welcome_email_outbox");
        pending.HasKey(p => p.UserId);
        pending.Property(p => p.UserId).ValueGeneratedNever();
        pending.HasNameAndEmailColumns(p => p.Name, p => p.Email);
        pending.Property(p => p.TraceParent).HasColumnName("traceparent").HasMaxLength(TraceParentLength);
        pending.HasIndex(p => p.ClaimedUntil).HasDatabaseName("ix_welcome_email_outbox_claimed_until");
    }
}

/// <summary>Adds the user's welcome email to the outbox; saved (or not) together with the user.</summary>
internal sealed class AddWelcomeEmailToOutbox(AppDbContext db) : IUserCreationStep
{
    public Task RunAsync(User user, CancellationToken cancellationToken)
    {
        db.Set<PendingWelcomeEmail>().Add(new PendingWelcomeEmail
        {
            UserId = user.Id,
            Name = user.Name,
            Email = user.Email,
            TraceParent = EmailTelemetry.CurrentTraceParent(),
        });
        return Task.CompletedTask;
    }
}
