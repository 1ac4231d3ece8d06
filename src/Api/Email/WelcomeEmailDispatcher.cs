using System.Diagnostics;
using System.Threading.Channels;
using Api.Data;
using Api.Queue;
using Api.Users;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using OpenTelemetry;

namespace Api.Email;

/// <summary>
/// Moves welcome emails from the outbox table onto the Hangfire queue: woken right after each user is committed, and
/// polling every <see cref="OutboxOptions.PollingMilliseconds"/> for rows left by a failure, a restart or another
/// instance. Delivery is at least once: a row is deleted only after its job is enqueued, so a crash between the two
/// enqueues that email again when the row's claim expires (the mail keeps one Message-ID, welcome-{user id}).
/// </summary>
internal sealed partial class WelcomeEmailDispatcher(
    IServiceScopeFactory scopes,
    IBackgroundJobClient jobs,
    QueueMetrics metrics,
    IOptions<EmailOptions> options,
    TimeProvider time,
    ILogger<WelcomeEmailDispatcher> logger) : BackgroundService, IUserCreatedListener
{
    /// <summary>How long a claimed batch belongs to this instance before another may take it over.</summary>
    private static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(1);

    // Slightly under the poll interval, so that a poll that waited the whole interval always reads the gauges.
    private readonly TimeSpan _gaugeInterval = TimeSpan.FromMilliseconds(options.Value.Outbox.PollingMilliseconds * 0.9);
    private long _gaugesReadAt = long.MinValue / 2;

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Wakes the dispatcher once a user is committed, so its email does not wait for the next poll.</summary>
    public Task OnUserCreatedAsync(User user, CancellationToken cancellationToken)
    {
        _wake.Writer.TryWrite(true);
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Outbox;
        var poll = TimeSpan.FromMilliseconds(settings.PollingMilliseconds);
        var failingSince = (DateTimeOffset?)null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var full = false;
            try
            {
                var dispatched = await DispatchBatchAsync(settings.BatchSize, stoppingToken);
                full = dispatched == settings.BatchSize;
                // Only a batch that reached the job storage proves it back; an empty poll never touches it.
                if (dispatched > 0 && failingSince is { } since)
                {
                    var outage = time.GetUtcNow() - since;
                    LogDispatchRecovered(outage);
                    failingSince = null;
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Job storage or database down: the rows stay in the outbox and the next poll tries again. One warning
                // per outage, not one per poll; queue_outbox_pending and its alert say how long it lasts.
                if (failingSince is null)
                {
                    failingSince = time.GetUtcNow();
                    LogDispatchFailed(exception);
                }
                else
                {
                    LogDispatchStillFailing(exception.Message);
                }
            }

            if (!full)
            {
                await WaitForWorkAsync(poll, stoppingToken);
            }
        }
    }

    /// <summary>Claims up to <paramref name="batchSize"/> due rows, enqueues their jobs and deletes them; returns the claimed count.</summary>
    internal async Task<int> DispatchBatchAsync(int batchSize, CancellationToken cancellationToken)
    {
        // The poll's own queries, every second, would each start a trace of nothing: only a row's dispatch, which
        // continues its sign-up's trace, is traced.
        using var untraced = SuppressInstrumentationScope.Begin();
        await using var scope = scopes.CreateAsyncScope();
        var outbox = scope.ServiceProvider.GetRequiredService<AppDbContext>().Set<PendingWelcomeEmail>();
        // The gauges at most once per poll interval: read before every batch, they were two of the four statements a
        // sign-up's email cost under load (one wake-up per sign-up, small batches). Every poll still reads them.
        if (Stopwatch.GetElapsedTime(_gaugesReadAt) >= _gaugeInterval)
        {
            _gaugesReadAt = Stopwatch.GetTimestamp();
            // Counted before the claim, so that while the job storage is down the gauge still shows the backlog growing.
            metrics.SetOutboxPending(EmailExtensions.Queue, await outbox.LongCountAsync(cancellationToken));
            // A row's key is its user's UUIDv7 id, which carries the sign-up time: the lowest is the oldest row.
            var oldest = await outbox.OrderBy(p => p.UserId).Select(p => (Guid?)p.UserId).FirstOrDefaultAsync(cancellationToken);
            metrics.SetOutboxOldest(EmailExtensions.Queue, oldest is { } id ? UserIds.CreatedAt(id) : null);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        // One statement claims the due rows and returns them (PostgreSQL and SQLite both have UPDATE ... RETURNING),
        // instead of a select, an update and a read-back. The outer WHERE re-checks claimed_until, so of two instances
        // racing for a row only one wins it: the loser's update re-reads the row after the winner commits and skips it.
        var claim = Guid.CreateVersion7();
        var until = now + (long)ClaimLease.TotalMilliseconds;
        var claimed = await outbox.FromSql($"""
            UPDATE welcome_email_outbox SET claim_token = {claim}, claimed_until = {until}
            WHERE user_id IN (SELECT user_id FROM welcome_email_outbox WHERE claimed_until < {now} ORDER BY user_id LIMIT {batchSize})
              AND claimed_until < {now}
            RETURNING user_id, name, email, claimed_until, claim_token, traceparent
            """).AsNoTracking().ToListAsync(cancellationToken);
        if (claimed.Count == 0)
        {
            return 0;
        }

        var enqueued = new List<Guid>(claimed.Count);
        try
        {
            foreach (var pending in claimed)
            {
                using var traced = SuppressInstrumentationScope.Begin(false);
                using var dispatch = EmailTelemetry.StartFrom(pending.TraceParent, "WelcomeEmail dispatch", ActivityKind.Producer);
                dispatch?.SetTag("messaging.system", "hangfire").SetTag("messaging.destination.name", EmailExtensions.Queue);
                var email = new WelcomeEmail(pending.UserId, pending.Name, pending.Email, dispatch?.Id ?? pending.TraceParent);
                jobs.Enqueue<WelcomeEmailJob>(job => job.SendAsync(email, null, CancellationToken.None));
                enqueued.Add(pending.UserId);
            }
        }
        finally
        {
            // Not cancellable: a job enqueued but left in the outbox would be enqueued twice.
            if (enqueued.Count > 0)
            {
                await outbox.Where(p => enqueued.Contains(p.UserId)).ExecuteDeleteAsync(CancellationToken.None);
            }

            if (enqueued.Count < claimed.Count)
            {
                // Give the rest back at once rather than when the lease ends.
                await outbox.Where(p => p.ClaimToken == claim)
                    .ExecuteUpdateAsync(rows => rows.SetProperty(p => p.ClaimedUntil, 0L).SetProperty(p => p.ClaimToken, (Guid?)null), CancellationToken.None);
            }
        }

        return claimed.Count;
    }

    private async Task WaitForWorkAsync(TimeSpan poll, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(poll);
        try
        {
            await _wake.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The poll interval passed without a wake-up.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Welcome emails stay in the outbox for now: dispatching them to the job queue failed")]
    private partial void LogDispatchFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dispatching the outbox still fails: {Reason}")]
    private partial void LogDispatchStillFailing(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dispatching the outbox works again after {Outage}")]
    private partial void LogDispatchRecovered(TimeSpan outage);
}
