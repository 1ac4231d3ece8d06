using System.Net;
using System.Net.Http.Json;
using Api.Tests.Infrastructure;

namespace Api.Tests.Email;

/// <summary>
/// Redis job storage with the app as a real process: jobs outlive a kill -9, and enqueueing is part of creating a user
/// (Redis down means 503 and no user).
/// </summary>
public sealed class EmailRedisStorageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string?> Settings(string folder, RedisServer redis, SmtpSink smtp) => new()
    {
        ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, "app.db")}",
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
    public async Task Jobs_waiting_in_Redis_survive_a_kill_9_and_every_email_arrives_after_a_restart()
    {
        const int users = 10;
        var folder = TempFolder.Create("api-tests-email-kill");
        await using var redis = await RedisServer.StartAsync(durable: true);
        await using var smtp = await SmtpSink.StartAsync();
        var addresses = Enumerable.Range(1, users).Select(i => $"kill-{i}@example.com").ToArray();
        try
        {
            smtp.Hold();
            await using (var first = await AppProcess.StartAsync(folder, Settings(folder, redis, smtp)))
            {
                using var client = new HttpClient { BaseAddress = first.BaseAddress };
                await WaitUntilReadyAsync(client);
                await client.CreateUsersAsync(addresses, () => first.Output);
                // The only worker is stuck on the first email; the other nine wait in Redis when the process dies.
                await Eventually.HoldsAsync(() => smtp.Arrived >= 1, Timeout, "the first email to reach the SMTP sink");
                first.Kill();
            }

            Assert.Empty(smtp.Received);
            smtp.Release();

            await using var second = await AppProcess.StartAsync(folder, Settings(folder, redis, smtp));
            await Eventually.HoldsAsync(() => addresses.All(address => smtp.CountTo(address) >= 1), Timeout,
                "every email after the restart", () => $"received: {string.Join(", ", smtp.Received.Select(m => m.To))}\n{second.Output}");
            // At-least-once: only the email in flight at the kill may arrive twice (the sink got it, the ack was lost).
            Assert.True(smtp.Received.Count <= users + 1, $"{smtp.Received.Count} emails for {users} users");
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }

    [Fact]
    public async Task With_Redis_down_creating_a_user_answers_503_and_saves_nothing_and_works_again_once_Redis_is_back()
    {
        var folder = TempFolder.Create("api-tests-email-redis-down");
        await using var redis = await RedisServer.StartAsync(durable: true);
        await using var smtp = await SmtpSink.StartAsync();
        try
        {
            await using var app = await AppProcess.StartAsync(folder, Settings(folder, redis, smtp));
            using var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            await WaitUntilReadyAsync(client);
            const string address = "redis-down@example.com";

            await redis.KillAsync();
            await Eventually.HoldsAsync(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable,
                Timeout, "/health/ready to report Redis down");
            var refused = await client.CreateUserAsync("Redis Down", address);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var page = await client.GetFromJsonAsync<PageBody>("/api/users?pageSize=100");
            Assert.Equal(0, page!.Total);

            await redis.RestartAsync();
            HttpResponseMessage? created = null;
            await Eventually.HoldsAsync(async () =>
            {
                created = await client.CreateUserAsync("Redis Down", address);
                Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable, $"unexpected {created.StatusCode}");
                return created.StatusCode == HttpStatusCode.Created;
            }, Timeout, "a user created once Redis is back", () => app.Output);
            await Eventually.HoldsAsync(() => smtp.CountTo(address) == 1, Timeout, "the welcome email", () => app.Output);
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }

    private static Task WaitUntilReadyAsync(HttpClient client) =>
        Eventually.HoldsAsync(async () => (await client.GetAsync("/health/ready")).IsSuccessStatusCode, Timeout, "/health/ready");

    private sealed record PageBody(int Total);
}
