using Api.Email;
using Api.Queue;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Email;

[Collection(InProcessApp.Name)]
// One app and SMTP sink for the class, warmed by one email before the first test (EmailQueueFixture), so no test relies
// on what another did; each measures its own change (counters, sessions, mails to its own addresses). (An app per test
// once left about one fresh app in fifteen with queue_jobs_completed_total at 0 though its mail arrived: the previous
// app's meters outlived its disposal and took the new app's series with them; ApiFactory.DisposeAsync now waits.)
public sealed class EmailQueueTests(EmailQueueFixture fixture) : IClassFixture<EmailQueueFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly EmailQueueFixture _fixture = fixture;
    private readonly HttpClient _client = fixture.Client;
    private readonly SmtpSink _smtp = fixture.Smtp;

    private static string[] Addresses(string test, int count) =>
        Enumerable.Range(1, count).Select(i => $"{test}-{i}-{Guid.NewGuid():N}@example.com").ToArray();

    [Fact]
    public async Task Every_created_user_gets_exactly_one_welcome_email_and_each_job_counts_as_completed()
    {
        const int users = 20;
        var completedBefore = await _client.QueueMetricAsync(QueueMetrics.JobsCompleted);
        var addresses = Addresses("welcome", users);

        await _client.CreateUsersAsync(addresses);

        await Eventually.HoldsAsync(async () => await _client.QueueMetricAsync(QueueMetrics.JobsCompleted) - completedBefore == users,
            Timeout, $"{users} completed email jobs");
        foreach (var address in addresses)
        {
            Assert.Equal(1, _smtp.CountTo(address));
        }

        var mail = _smtp.Received.First(m => m.To == addresses[0]);
        Assert.StartsWith("Welcome, User welcome-1", mail.Subject);
        Assert.StartsWith("welcome-", mail.MessageId);
    }

    [Fact]
    public async Task Welcome_emails_travel_over_pooled_SMTP_connections_not_one_connection_per_mail()
    {
        const int users = 20;
        var completedBefore = await _client.QueueMetricAsync(QueueMetrics.JobsCompleted);
        var sessionsBefore = _smtp.Sessions;
        var addresses = Addresses("pooled", users);

        await _client.CreateUsersAsync(addresses);

        await Eventually.HoldsAsync(async () => await _client.QueueMetricAsync(QueueMetrics.JobsCompleted) - completedBefore == users,
            Timeout, $"{users} completed email jobs");
        Assert.All(addresses, address => Assert.Equal(1, _smtp.CountTo(address)));
        // Email:Smtp:PoolSize unset: at most one connection per queue worker, shared by the dispatcher and the workers.
        Assert.InRange(_smtp.Sessions - sessionsBefore, 0, EmailQueueFixture.Workers);
    }

    [Fact]
    public async Task While_SMTP_is_down_users_are_still_created_attempts_count_as_failed_and_every_email_arrives_once_it_is_back()
    {
        const int users = 5;
        var failedBefore = await _client.QueueMetricAsync(QueueMetrics.JobsFailed);
        var completedBefore = await _client.QueueMetricAsync(QueueMetrics.JobsCompleted);
        var addresses = Addresses("smtp-down", users);

        await _smtp.StopAsync();
        try
        {
            await _client.CreateUsersAsync(addresses);
            await Eventually.HoldsAsync(async () => await _client.QueueMetricAsync(QueueMetrics.JobsFailed) - failedBefore >= users,
                Timeout, $"at least {users} failed attempts while SMTP is down");
            Assert.All(addresses, address => Assert.Equal(0, _smtp.CountTo(address)));
        }
        finally
        {
            await _smtp.StartServerAsync();
        }

        await Eventually.HoldsAsync(async () => await _client.QueueMetricAsync(QueueMetrics.JobsCompleted) - completedBefore == users,
            Timeout, $"{users} completed jobs once SMTP is back");
        Assert.All(addresses, address => Assert.Equal(1, _smtp.CountTo(address)));
    }

    [Fact]
    public async Task A_permanently_rejected_address_fails_the_job_once_without_retries_logs_its_id_and_can_be_requeued()
    {
        var address = Addresses("rejected", 1)[0];
        _smtp.Reject(address);
        var failedBefore = await _client.QueueMetricAsync(QueueMetrics.JobsFailed);
        var storage = _fixture.App.Services.GetRequiredService<JobStorage>();

        await _client.CreateUsersAsync([address]);

        string? jobId = null;
        await Eventually.HoldsAsync(() =>
        {
            jobId = storage.GetMonitoringApi().FailedJobs(0, 100)
                .Where(job => job.Value.Job is { Args: [WelcomeEmail email, ..] } && email.Email == address)
                .Select(job => job.Key).FirstOrDefault();
            return jobId is not null;
        }, Timeout, "the job in the failed list");

        var details = storage.GetMonitoringApi().JobDetails(jobId);
        Assert.Equal(typeof(PermanentEmailFailureException).FullName, details.History[0].Data["ExceptionType"]);
        Assert.DoesNotContain(details.History, state => state.StateName == "Scheduled"); // never retried
        Assert.Equal(1, await _client.QueueMetricAsync(QueueMetrics.JobsFailed) - failedBefore);
        Assert.Contains(_fixture.App.Logs, line => line.Contains($"Job {jobId}") && line.Contains(address) && line.StartsWith("Error"));
        Assert.Equal(0, _smtp.CountTo(address));

        // A failed job is kept, not dropped: once the cause is fixed, requeueing it (the dashboard's button) delivers it.
        _smtp.Accept(address);
        Assert.True(new BackgroundJobClient(storage).Requeue(jobId));
        await Eventually.HoldsAsync(() => _smtp.CountTo(address) == 1, Timeout, "the requeued email");
    }

    [Fact]
    public async Task Emails_a_slow_mail_server_holds_back_show_in_the_outbox_gauges_and_drain_to_zero()
    {
        // Each row stays in the outbox until its mail is accepted: with every connection stuck, all of them count.
        const int users = EmailQueueFixture.Workers + 3;
        var addresses = Addresses("outbox-gauge", users);
        await HoldMailAndWatchGaugesAsync(addresses, () => _client.CreateUsersAsync(addresses), "every connection busy",
            QueueMetrics.OutboxPending, QueueMetrics.OutboxOldestAge, users, $"{users} emails in the outbox and a positive oldest age",
            "the outbox gauges to drain to 0");
    }

    [Fact]
    public async Task Waiting_jobs_and_the_age_of_the_oldest_show_in_the_gauges_and_drain_to_zero()
    {
        // Jobs on the queue, as failed first attempts become (JobRetries): the workers take two, three wait.
        const int jobs = EmailQueueFixture.Workers + 3;
        var addresses = Addresses("gauge", jobs);
        var client = _fixture.App.Services.GetRequiredService<IBackgroundJobClient>();
        Task EnqueueAll()
        {
            foreach (var address in addresses)
            {
                var email = new WelcomeEmail(Guid.CreateVersion7(), "Gauge", address);
                client.Enqueue<WelcomeEmailJob>(job => job.SendAsync(email, null, CancellationToken.None));
            }

            return Task.CompletedTask;
        }

        // The gauges show the storage as of the last background snapshot (Queue:MetricsRefreshSeconds), so they drain
        // within a refresh of the queue doing so.
        await HoldMailAndWatchGaugesAsync(addresses, EnqueueAll, "every worker busy",
            QueueMetrics.JobsWaiting, QueueMetrics.OldestJobAge, 3, "3 waiting jobs and a positive oldest age",
            "the waiting and age gauges to drain to 0");
    }

    /// <summary>
    /// Holds every mail at the sink while <paramref name="feed"/> gives the email queue more than its connections can
    /// take; once they are all busy, <paramref name="count"/> must read <paramref name="held"/> and <paramref name="age"/>
    /// be positive. Then the sink lets go: every address gets its mail once and both gauges drain to 0.
    /// </summary>
    private async Task HoldMailAndWatchGaugesAsync(string[] addresses, Func<Task> feed, string busy, string count, string age,
        long held, string heldDescription, string drainedDescription)
    {
        var arrivedBefore = _smtp.Arrived;
        _smtp.Hold();
        try
        {
            await feed();
            await Eventually.HoldsAsync(() => _smtp.Arrived - arrivedBefore == EmailQueueFixture.Workers, Timeout, busy);
            await Eventually.HoldsAsync(async () =>
            {
                var scrape = await MetricsScrape.FetchAsync(_client);
                return scrape.Sum(count, ("queue", EmailExtensions.Queue)) == held
                    && scrape.Sum(age, ("queue", EmailExtensions.Queue)) > 0;
            }, Timeout, heldDescription);
        }
        finally
        {
            _smtp.Release();
        }

        await Eventually.HoldsAsync(() => addresses.All(address => _smtp.CountTo(address) == 1), Timeout, "every held email");
        await Eventually.HoldsAsync(async () =>
        {
            var drained = await MetricsScrape.FetchAsync(_client);
            return drained.Sum(count, ("queue", EmailExtensions.Queue)) == 0
                && drained.Sum(age, ("queue", EmailExtensions.Queue)) == 0;
        }, Timeout, drainedDescription);
    }

    [Fact]
    public async Task Queue_metrics_are_exported_under_their_contract_names_with_zeroed_counters_for_every_queue()
    {
        // The storage gauges appear with the first background snapshot, moments after start-up.
        await Eventually.HoldsAsync(async () => (await MetricsScrape.FetchAsync(_client)).Named(QueueMetrics.StorageUp).Any(), Timeout,
            $"the first snapshot ({QueueMetrics.StorageUp})");
        var scrape = await MetricsScrape.FetchAsync(_client);
        foreach (var queue in new[] { EmailExtensions.Queue, JobQueues.Default })
        {
            Assert.Single(scrape.Named(QueueMetrics.JobsCompleted), s => s.Label("queue") == queue);
            Assert.Single(scrape.Named(QueueMetrics.JobsFailed), s => s.Label("queue") == queue);
            Assert.Single(scrape.Named(QueueMetrics.JobsWaiting), s => s.Label("queue") == queue);
            Assert.Single(scrape.Named(QueueMetrics.OldestJobAge), s => s.Label("queue") == queue);
        }

        Assert.Equal(0, scrape.Sum(QueueMetrics.JobsCompleted, ("queue", JobQueues.Default)));
        Assert.Contains($"# TYPE {QueueMetrics.JobDuration} histogram", scrape.Text);
        Assert.Contains($"# TYPE {QueueMetrics.JobWait} histogram", scrape.Text);
        Assert.Contains($"# TYPE {QueueMetrics.JobsWaiting} gauge", scrape.Text);
        Assert.Contains($"# TYPE {QueueMetrics.OldestJobAge} gauge", scrape.Text);
        Assert.Contains($"# TYPE {QueueMetrics.OutboxPending} gauge", scrape.Text);
        Assert.Single(scrape.Named(QueueMetrics.OutboxPending), s => s.Label("queue") == EmailExtensions.Queue);
        Assert.Single(scrape.Named(QueueMetrics.OutboxOldestAge), s => s.Label("queue") == EmailExtensions.Queue);
        Assert.Equal(1, scrape.Sum(QueueMetrics.StorageUp));
        Assert.Single(scrape.Named(QueueMetrics.SnapshotAge));
        // The names MONITORING.md's queue table documents.
        Assert.Equal(
            ["queue_jobs_completed_total", "queue_jobs_failed_total", "queue_jobs_waiting", "queue_oldest_job_age_seconds", "queue_job_duration_seconds", "queue_job_wait_seconds", "queue_outbox_pending", "queue_outbox_oldest_age_seconds", "queue_storage_up", "queue_metrics_snapshot_age_seconds"],
            [QueueMetrics.JobsCompleted, QueueMetrics.JobsFailed, QueueMetrics.JobsWaiting, QueueMetrics.OldestJobAge, QueueMetrics.JobDuration, QueueMetrics.JobWait, QueueMetrics.OutboxPending, QueueMetrics.OutboxOldestAge, QueueMetrics.StorageUp, QueueMetrics.SnapshotAge]);
    }

    [Fact]
    public async Task The_dashboard_answers_requests_with_its_key()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hangfire") { Headers = { { "X-API-Key", EmailQueueFixture.DashboardKey } } };
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hangfire", await response.Content.ReadAsStringAsync());
    }
}
