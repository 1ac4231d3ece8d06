namespace Api.Email;

/// <summary>Settings under <c>Email</c>: where mail goes and who sends it.</summary>
public sealed class EmailOptions
{
    public const string Section = "Email";

    /// <summary>Sender address of every mail.</summary>
    [Required, EmailAddress]
    public string From { get; set; } = "no-reply@localhost";

    public SmtpOptions Smtp { get; set; } = new();

    public OutboxOptions Outbox { get; set; } = new();

    /// <summary>
    /// Where mail is written as .eml files when no SMTP host is configured, relative to the content root. The default
    /// run (no mail server) still shows real output this way.
    /// </summary>
    [Required]
    public string PickupDirectory { get; set; } = "data/mail";
}

public sealed class SmtpOptions
{
    /// <summary>SMTP server; when empty, mail goes to <see cref="EmailOptions.PickupDirectory"/> instead.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 25;

    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>TLS on connect for port 465, STARTTLS (required, not opportunistic) on any other port.</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// One send (waiting for a pooled connection, connecting when none is open, sending) must finish within this time,
    /// so a hung server fails the attempt.
    /// </summary>
    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// SMTP connections kept open and reused, which is also the most mails this instance sends at once: reusing a
    /// connection saves the connect, greeting, EHLO (and TLS, login) and QUIT of every mail. Unset: one per queue worker
    /// (<c>Queue:Workers</c>), so no worker waits for a connection; set it lower when the mail server limits
    /// connections per client.
    /// </summary>
    [Range(1, 1000)]
    public int? PoolSize { get; set; }
}

public sealed class OutboxOptions
{
    /// <summary>
    /// Whether this instance sends the outbox's emails. false: it only writes them, with their users, and instances that
    /// dispatch send them (web instances that hold no SMTP connections beside workers that do). Keep at least one
    /// dispatching instance: every instance exports the outbox gauges, so emails that wait raise QueueOutboxNotDraining.
    /// </summary>
    public bool Dispatch { get; set; } = true;

    /// <summary>
    /// How often the outbox is checked for welcome emails not yet sent (left by an outage, a crash or another instance). A
    /// new user's email does not wait for it: committing the user wakes the dispatcher.
    /// </summary>
    [Range(50, 60_000)]
    public int PollingMilliseconds { get; set; } = 1000;

    /// <summary>Outbox rows claimed per database round trip; at most twice the SMTP connections are being sent at once.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;
}
