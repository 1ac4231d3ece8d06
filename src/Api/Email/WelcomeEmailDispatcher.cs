using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Api.Data;
using Api.Queue;
using Api.Users;
using Hangfire.Common;
using Microsoft.EntityFrameworkCore;
using OpenTelemetry;

namespace Api.Email;

/// <summary>
/// Sends welcome emails from the outbox table: woken right after each user is committed, and polling every
/// <see cref="OutboxOptions.PollingMilliseconds"/> for rows left by a failure, a restart or another instance. Each
/// claimed row gets its first attempt here, over the pooled SMTP connections; only a failed one becomes a job on the
/// Hangfire queue (<see cref="JobRetries"/>: the same retries, dashboard and metrics as before), which spares every
/// email that goes out the job storage's round trips (bench/Queue: 80 Redis commands a job). Delivery is at least once:
/// a row is deleted only after its mail was accepted or its job enqueued, so a crash in between sends that email again
/// when the row's claim expires (the mail keeps one Message-ID, welcome-{user id}).
/// </summary>
internal sealed partial class WelcomeEmailDispatcher(
    IServiceScopeFactory scopes,
    WelcomeEmailJob job,
    EmailSender sender,
    JobRetries retries,
    QueueMetrics metrics,
    IOptions<EmailOptions> options,
    TimeProvider time,
    ILogger<WelcomeEmailDispatcher> logger) : BackgroundService, IUserCreatedListener
{
    private const string Queue = EmailExtensions.Queue;

    /// <summary>
    /// How long a claimed row belongs to this instance before another may take it over: its attempt ends within the send
    /// timeout (the wait for a connection included), twice that leaves room for handing a failure to the queue.
    /// </summary>
    private readonly TimeSpan _claimLease = TimeSpan.FromSeconds(2 * options.Value.Smtp.TimeoutSeconds);

    // Attempts in flight at most: the connections twice over, so a connection that comes free finds a mail waiting while
    // the loop deletes and claims; more would only wait for a connection, their send timeout running.
    private readonly int _maxInFlight = 2 * sender.Connections;

    // Slightly under the poll interval, so that a poll that waited the whole interval always reads the gauges.
    private readonly TimeSpan _gaugeInterval = TimeSpan.FromMilliseconds(options.Value.Outbox.PollingMilliseconds * 0.9);
    private long _gaugesReadAt = long.MinValue / 2;

    // Touched by the loop only; the attempts report through the two queues and wake the loop.
    private readonly List<Task> _attempts = [];
    private readonly ConcurrentQueue<Guid> _finished = new(); // sent or on the queue: the row goes
    private readonly ConcurrentQueue<Guid> _unfinished = new(); // the queue did not take its failure: the row goes back
    private long _failingSinceTicks; // 0 while rows leave the outbox

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
        if (!settings.Dispatch)
        {
            await ReadGaugesOnlyAsync(poll, stoppingToken);
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var full = false;
                try
                {
                    full = await DispatchBatchAsync(settings.BatchSize, stoppingToken) == settings.BatchSize;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Database down: the rows stay in the outbox and the next poll tries again. One warning per outage,
                    // not one per poll; queue_outbox_pending and its alert say how long it lasts.
                    Failing(exception);
                }

                if (!full)
                {
                    await WaitForWorkAsync(poll, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }

        // Attempts under way finish (within the send timeout) and their rows are settled; a row left behind is sent again
        // after its claim expires.
        await DrainAsync();
    }

    /// <summary>
    /// Deletes the rows whose attempts finished, then claims up to <paramref name="batchSize"/> due rows (fewer while
    /// attempts are in flight) and starts their attempts; returns the claimed count.
    /// </summary>
    internal async Task<int> DispatchBatchAsync(int batchSize, CancellationToken cancellationToken)
    {
        // The poll's own queries, every second, would each start a trace of nothing: only a row's attempt, which
        // continues its sign-up's trace, is traced.
        using var untraced = SuppressInstrumentationScope.Begin();
        await using var scope = scopes.CreateAsyncScope();
        var outbox = scope.ServiceProvider.GetRequiredService<AppDbContext>().Set<PendingWelcomeEmail>();
        await SettleAsync(outbox);
        // Counted before the claim, so that while rows cannot leave the gauge still shows the backlog growing.
        await ReadGaugesAsync(outbox, cancellationToken);

        var room = Math.Min(batchSize, _maxInFlight - _attempts.Count);
        if (room <= 0)
        {
            return 0;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        // One statement claims the due rows and returns them (PostgreSQL and SQLite both have UPDATE ... RETURNING),
        // instead of a select, an update and a read-back. The outer WHERE re-checks claimed_until, so of two instances
        // racing for a row only one wins it: the loser's update re-reads the row after the winner commits and skips it.
        var claim = Guid.CreateVersion7();
        var until = now + (long)_claimLease.TotalMilliseconds;
        var claimed = await outbox.FromSql($"""
            UPDATE welcome_email_outbox SET claim_token = {claim}, claimed_until = {until}
            WHERE user_id IN (SELECT user_id FROM welcome_email_outbox WHERE claimed_until < {now} ORDER BY user_id LIMIT {room})
              AND claimed_until < {now}
            RETURNING user_id, name, email, claimed_until, claim_token, traceparent
            """).AsNoTracking().ToListAsync(cancellationToken);
        foreach (var pending in claimed)
        {
            _attempts.Add(AttemptAsync(pending));
        }

        return claimed.Count;
    }

    /// <summary>
    /// The outbox gauges, at most once per poll interval: read before every batch, they were two of the four statements a
    /// sign-up's email cost under load (one wake-up per sign-up, small batches). Every poll still reads them.
    /// </summary>
    private async Task ReadGaugesAsync(DbSet<PendingWelcomeEmail> outbox, CancellationToken cancellationToken)
    {
        if (Stopwatch.GetElapsedTime(_gaugesReadAt) < _gaugeInterval)
        {
            return;
        }

        _gaugesReadAt = Stopwatch.GetTimestamp();
        metrics.SetOutboxPending(Queue, await outbox.LongCountAsync(cancellationToken));
        // A row's key is its user's UUIDv7 id, which carries the sign-up time: the lowest is the oldest row.
        var oldest = await outbox.OrderBy(p => p.UserId).Select(p => (Guid?)p.UserId).FirstOrDefaultAsync(cancellationToken);
        metrics.SetOutboxOldest(Queue, oldest is { } id ? UserIds.CreatedAt(id) : null);
    }

    /// <summary>
    /// An instance that does not dispatch still reads the outbox gauges every poll interval (not woken by sign-ups): an
    /// outbox that no instance drains must still show its age and raise QueueOutboxNotDraining, not fall silent.
    /// </summary>
    private async Task ReadGaugesOnlyAsync(TimeSpan poll, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(poll, time);
        try
        {
            do
            {
                try
                {
                    using var untraced = SuppressInstrumentationScope.Begin();
                    await using var scope = scopes.CreateAsyncScope();
                    await ReadGaugesAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>().Set<PendingWelcomeEmail>(), stoppingToken);
                    Recovered();
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Database down: one warning per outage, as when dispatching; the gauges keep their last value.
                    Failing(exception);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Waits for the attempts in flight and settles their rows (shutdown; tests).</summary>
    internal async Task DrainAsync()
    {
        await Task.WhenAll(_attempts);
        await using var scope = scopes.CreateAsyncScope();
        await SettleAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>().Set<PendingWelcomeEmail>());
    }

    /// <summary>
    /// One statement for the finished rows, one for those given back; not cancellable (a sent row left behind is sent
    /// twice), and kept for the next try when the database fails.
    /// </summary>
    private async Task SettleAsync(DbSet<PendingWelcomeEmail> outbox)
    {
        _attempts.RemoveAll(attempt => attempt.IsCompleted);
        await SettleAsync(_finished, ids => outbox.Where(p => ids.Contains(p.UserId)).ExecuteDeleteAsync(CancellationToken.None));
        // Due again at the next poll, rather than when the lease ends (or at once, which would spin while SMTP and the job
        // storage are both down).
        var due = time.GetUtcNow().ToUnixTimeMilliseconds() + options.Value.Outbox.PollingMilliseconds;
        await SettleAsync(_unfinished, ids => outbox.Where(p => ids.Contains(p.UserId))
            .ExecuteUpdateAsync(rows => rows.SetProperty(p => p.ClaimedUntil, due).SetProperty(p => p.ClaimToken, (Guid?)null), CancellationToken.None));

        static async Task SettleAsync(ConcurrentQueue<Guid> queue, Func<List<Guid>, Task<int>> statement)
        {
            var ids = new List<Guid>();
            while (queue.TryDequeue(out var id))
            {
                ids.Add(id);
            }

            try
            {
                if (ids.Count > 0)
                {
                    await statement(ids);
                }
            }
            catch
            {
                ids.ForEach(queue.Enqueue);
                throw;
            }
        }
    }

    /// <summary>
    /// The email's first attempt, counted and timed as the queue counts its own (queue_jobs_*): sent, or its failure
    /// handed to the queue's retries. Not cancelled at shutdown: it ends within the send timeout.
    /// </summary>
    private async Task AttemptAsync(PendingWelcomeEmail pending)
    {
        var finished = false;
        try
        {
            await Task.Yield(); // off the loop: the claim's caller goes on while this waits for a connection
            using var traced = SuppressInstrumentationScope.Begin(false);
            using var dispatch = EmailTelemetry.StartFrom(pending.TraceParent, "WelcomeEmail dispatch", ActivityKind.Internal);
            using var attempt = EmailTelemetry.Start($"{Queue} process", ActivityKind.Consumer);
            attempt?.SetTag("messaging.system", "outbox").SetTag("messaging.destination.name", Queue);
            var email = new WelcomeEmail(pending.UserId, pending.Name, pending.Email, attempt?.Id ?? pending.TraceParent);
            // Wait is enqueue -> first start: here the sign-up's commit (its UUIDv7 time) -> this attempt.
            metrics.RecordWait(Queue, (time.GetUtcNow() - UserIds.CreatedAt(pending.UserId)).TotalSeconds);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await job.DeliverAsync(email, CancellationToken.None);
                metrics.RecordDuration(Queue, Stopwatch.GetElapsedTime(started).TotalSeconds);
                metrics.Completed(Queue);
                finished = true;
            }
            catch (Exception exception)
            {
                metrics.RecordDuration(Queue, Stopwatch.GetElapsedTime(started).TotalSeconds);
                metrics.Failed(Queue);
                attempt?.SetStatus(ActivityStatusCode.Error, exception.Message);
                finished = HandOver(email, exception);
            }
        }
        finally
        {
            if (finished)
            {
                _finished.Enqueue(pending.UserId);
                Recovered();
            }
            else
            {
                _unfinished.Enqueue(pending.UserId);
            }

            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>The failed attempt becomes a job with the queue's retries; false when the job storage does not take it.</summary>
    private bool HandOver(WelcomeEmail email, Exception failure)
    {
        string jobId;
        try
        {
            jobId = retries.RetryFailedAttempt(Job.FromExpression<WelcomeEmailJob>(j => j.SendAsync(email, null, CancellationToken.None)), failure);
        }
        catch (Exception exception)
        {
            Failing(exception);
            return false;
        }

        LogAttemptFailed(jobId, Queue, (failure.InnerException ?? failure).Message);
        job.LogIfRejected(jobId, email, failure);
        return true;
    }

    private void Failing(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _failingSinceTicks, time.GetUtcNow().UtcTicks, 0) == 0)
        {
            LogDispatchFailed(exception);
        }
        else
        {
            LogDispatchStillFailing(exception.Message);
        }
    }

    private void Recovered()
    {
        if (Volatile.Read(ref _failingSinceTicks) != 0 && Interlocked.Exchange(ref _failingSinceTicks, 0) is var since and not 0)
        {
            var outage = time.GetUtcNow() - new DateTimeOffset(since, TimeSpan.Zero);
            LogDispatchRecovered(outage);
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} on queue {Queue} failed an attempt: {Error}")]
    private partial void LogAttemptFailed(string jobId, string queue, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Welcome emails stay in the outbox for now: the database or, for a failed one, the job queue does not answer")]
    private partial void LogDispatchFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dispatching the outbox still fails: {Reason}")]
    private partial void LogDispatchStillFailing(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dispatching the outbox works again after {Outage}")]
    private partial void LogDispatchRecovered(TimeSpan outage);
}
