using System.Text.RegularExpressions;
using Api.Email;
using Api.Queue;

namespace Api.Tests.Email;

/// <summary>
/// Redis job storage with the app as a real process: unsent emails (in the outbox) and retries (in Redis) outlive a
/// kill -9, and a dead Redis neither refuses sign-ups nor holds back their emails; with the mail server down too, they
/// wait in the outbox.
/// </summary>
public sealed class EmailRedisStorageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string?> Settings(RedisServer redis, SmtpSink smtp) => new()
    {
        ["ConnectionStrings:Redis"] = redis.ConnectionString,
        ["Email:Smtp:Host"] = "127.0.0.1",
        ["Email:Smtp:Port"] = smtp.Port.ToString(),
        ["Queue:Workers"] = "1",
        ["Queue:Retry:DelaySeconds"] = "1",
        ["Queue:SchedulePollingSeconds"] = "1",
        // The job in flight when the process is killed comes back to the queue after this long.
        ["Queue:InvisibilityTimeoutSeconds"] = "5",
    };

    [Fact]
    public async Task Emails_not_yet_sent_survive_a_kill_9_and_every_email_arrives_after_a_restart()
    {
        const int users = 10;
        await using var redis = await RedisServer.StartAsync(durable: true);
        await using var smtp = await SmtpSink.StartAsync();
        var addresses = Enumerable.Range(1, users).Select(i => $"kill-{i}@example.com").ToArray();
        smtp.Hold();
        var settings = Settings(redis, smtp);
        // The claim of the rows in flight at the kill lapses after twice this: then the restarted app sends them.
        settings["Email:Smtp:TimeoutSeconds"] = "5";
        await using var app = await TempApp.StartAsync(settings, name: "email-kill");
        await app.WaitUntilReadyAsync();
        using (var client = new HttpClient { BaseAddress = app.BaseAddress })
        {
            await client.CreateUsersAsync(addresses, () => app.Output);
            // The only connection is stuck on the first email; the others wait in the outbox when the process dies.
            await Eventually.HoldsAsync(() => smtp.Arrived >= 1, Timeout, "the first email to reach the SMTP sink");
            app.Kill();
        }

        Assert.Empty(smtp.Received);
        smtp.Release();

        await app.RestartAsync();
        await Eventually.HoldsAsync(() => addresses.All(address => smtp.CountTo(address) >= 1), Timeout,
            "every email after the restart", () => $"received: {string.Join(", ", smtp.Received.Select(m => m.To))}\n{app.Output}");
        // At-least-once: only the email in flight at the kill may arrive twice (the sink got it, the ack was lost).
        Assert.True(smtp.Received.Count <= users + 1, $"{smtp.Received.Count} emails for {users} users");
    }

    [Fact]
    public async Task Retries_waiting_in_Redis_survive_a_kill_9_and_arrive_after_a_restart()
    {
        const int users = 3;
        await using var redis = await RedisServer.StartAsync(durable: true);
        await using var smtp = await SmtpSink.StartAsync();
        var addresses = Enumerable.Range(1, users).Select(i => $"retry-kill-{i}@example.com").ToArray();
        await smtp.StopAsync();
        var settings = Settings(redis, smtp);
        settings["Queue:Retry:Attempts"] = "10"; // 1, 2, 4, 8... s apart: none used up before the restart
        await using var app = await TempApp.StartAsync(settings, name: "email-retry-kill");
        await app.WaitUntilReadyAsync();
        using (var client = new HttpClient { BaseAddress = app.BaseAddress })
        {
            await client.CreateUsersAsync(addresses, () => app.Output);
            // Each first attempt failed and became a job in Redis (its retry), and the outbox is empty.
            await Eventually.HoldsAsync(async () => await client.QueueMetricAsync(QueueMetrics.JobsFailed) >= users
                    && await client.QueueMetricAsync(QueueMetrics.OutboxPending) == 0, Timeout,
                "every first attempt failed and handed to the queue", () => app.Output);
            app.Kill();
        }

        await smtp.StartServerAsync();
        await app.RestartAsync();
        await Eventually.HoldsAsync(() => addresses.All(address => smtp.CountTo(address) >= 1), Timeout,
            "every retried email after the restart", () => app.Output);
        Assert.All(addresses, address => Assert.Equal(1, smtp.CountTo(address)));
    }

    [Fact]
    public async Task With_Redis_down_users_are_still_created_and_emailed_and_with_SMTP_down_too_the_emails_wait_in_the_outbox()
    {
        await using var redis = await RedisServer.StartAsync(durable: true);
        await using var smtp = await SmtpSink.StartAsync();
        await using var app = await TempApp.StartAsync(Settings(redis, smtp), name: "email-redis-down");
        await app.WaitUntilReadyAsync();
        using var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var sent = Enumerable.Range(1, 5).Select(i => $"redis-down-{i}@example.com").ToArray();
        var held = Enumerable.Range(1, 5).Select(i => $"both-down-{i}@example.com").ToArray();

        await redis.KillAsync();
        // Degraded, not unhealthy: the instance keeps its traffic; emails go out without Redis, which holds only retries.
        await Eventually.HoldsAsync(async () =>
        {
            var ready = await client.GetAsync("/health/ready");
            return ready.StatusCode == HttpStatusCode.OK && await ready.Content.ReadAsStringAsync() == "Degraded";
        }, Timeout, "/health/ready to report the queue degraded");
        await client.CreateUsersAsync(sent, () => app.Output);
        await Eventually.HoldsAsync(() => sent.All(address => smtp.CountTo(address) == 1), Timeout, "every email while Redis is down", () => app.Output);

        // A failed send cannot become a retry without Redis: it stays in the outbox.
        await smtp.StopAsync();
        await client.CreateUsersAsync(held, () => app.Output);
        var page = await client.GetFromJsonAsync<PageBody>("/api/users?pageSize=100");
        Assert.Equal(sent.Length + held.Length, page!.Total);
        await Eventually.HoldsAsync(async () => await client.QueueMetricAsync(QueueMetrics.OutboxPending) == held.Length, Timeout,
            $"{QueueMetrics.OutboxPending} to count the {held.Length} emails waiting");
        // The outbox alerts read the age of its oldest row, which grows while the emails cannot leave.
        var age = await client.QueueMetricAsync(QueueMetrics.OutboxOldestAge);
        await Eventually.HoldsAsync(async () => await client.QueueMetricAsync(QueueMetrics.OutboxOldestAge) > age + 1, Timeout,
            $"{QueueMetrics.OutboxOldestAge} to grow while Redis and SMTP are down (was {age})");

        await redis.RestartAsync();
        await smtp.StartServerAsync();
        await Eventually.HoldsAsync(() => held.All(address => smtp.CountTo(address) >= 1), Timeout,
            "every held email once Redis and SMTP are back", () => app.Output);
        Assert.All(sent.Concat(held), address => Assert.Equal(1, smtp.CountTo(address)));
        await Eventually.HoldsAsync(async () => await client.QueueMetricAsync(QueueMetrics.OutboxPending) == 0, Timeout,
            $"{QueueMetrics.OutboxPending} to drain to 0");
        await Eventually.HoldsAsync(async () => await client.QueueMetricAsync(QueueMetrics.OutboxOldestAge) == 0, Timeout,
            $"{QueueMetrics.OutboxOldestAge} to drain to 0");
        // The dispatcher retried every poll through the outage, but warned once and said when it was over.
        var output = app.Output;
        Assert.True(Regex.Count(output, "Welcome emails stay in the outbox for now") == 1, $"one warning per outage:\n{output}");
        Assert.Contains("Dispatching the outbox works again after", output);
    }

    [Fact]
    public async Task A_burst_of_concurrent_sign_ups_is_answered_201_and_every_email_arrives_exactly_once()
    {
        // A request thread never waits on Redis (the outbox), so a burst cannot starve the thread pool: on a two-core
        // machine 64 concurrent POSTs once timed out in Hangfire's synchronous enqueue and answered 503.
        const int users = 64;
        await using var redis = await RedisServer.StartAsync(durable: true);
        await using var smtp = await SmtpSink.StartAsync();
        var addresses = Enumerable.Range(1, users).Select(i => $"burst-{i}@example.com").ToArray();
        var settings = Settings(redis, smtp);
        settings["Queue:Workers"] = "4";
        await using var app = await TempApp.StartAsync(settings, name: "email-burst");
        await app.WaitUntilReadyAsync();
        using var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        await client.CreateUsersAsync(addresses, () => app.Output);

        await Eventually.HoldsAsync(() => addresses.All(address => smtp.CountTo(address) >= 1), Timeout,
            "every email of the burst", () => $"{smtp.Received.Count} received\n{app.Output}");
        Assert.All(addresses, address => Assert.Equal(1, smtp.CountTo(address)));
        await Eventually.HoldsAsync(async () => await client.QueueMetricAsync(QueueMetrics.JobsCompleted) == users, Timeout,
            $"{QueueMetrics.JobsCompleted} to read {users}");
    }

    private sealed record PageBody(int Total);
}
