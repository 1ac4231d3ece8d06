namespace Api.Tests.Observability;

/// <summary>
/// An idle instance writes nothing to its log once it has started: no SQL of the outbox poller (it polls every second),
/// no per-poll line of any kind, also when the published app is started from a folder without appsettings.json.
/// </summary>
public sealed class QuietLogTests
{
    [Fact]
    public async Task An_idle_instance_started_from_another_folder_logs_nothing_after_start_up()
    {
        // The working directory holds no appsettings.json and no --contentRoot is given: `cd elsewhere && dotnet path/to/Api.dll`.
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["Queue:MetricsRefreshSeconds"] = "1", // so the background read of the queue gauges meets the short outage
        }, name: "quiet", nameContentRoot: false);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        await client.GetAsync("/health/ready");
        await Task.Delay(TimeSpan.FromSeconds(1)); // the start-up lines ("Now listening", "Application started") land
        var afterStartUp = app.Output;

        await Task.Delay(TimeSpan.FromSeconds(5)); // five outbox polls

        Assert.Equal(afterStartUp, app.Output);
        Assert.DoesNotContain("Executed DbCommand", afterStartUp, StringComparison.Ordinal);
    }
}

/// <summary>A Redis outage is a few lines in the log, one per component when it starts and one when it ends, whatever the traffic.</summary>
public sealed class OutageLogTests
{
    [Fact]
    public async Task A_redis_outage_logs_once_when_it_starts_and_once_when_it_ends_however_many_requests_fail()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Queue:MetricsRefreshSeconds"] = "1", // so the background read of the queue gauges meets the short outage
        }, name: "outage", nameContentRoot: false); // the shipped appsettings.json and its log levels
        using var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        async Task TrafficAsync(int round)
        {
            for (var i = 0; i < 6; i++)
            {
                using var created = await client.PostAsync("/api/users", System.Net.Http.Json.JsonContent.Create(new { name = "Outage", email = $"outage-{round}-{i}@example.com" }));
                using var ready = await client.GetAsync("/health/ready");
                using var scrape = await client.GetAsync("/metrics");
            }
        }

        await TrafficAsync(0);
        await redis.KillAsync();
        await TrafficAsync(1);
        await redis.RestartAsync();
        // The welcome emails are not among them: they go out from the outbox without Redis (only a failed one is queued).
        string[] dependencies = ["The SignalR backplane (Redis)", "The SignalR backplane (readiness)", "The job storage (queue gauges)", "The job storage (Redis)"];
        var round = 2;
        await Eventually.HoldsAsync(async () =>
        {
            await TrafficAsync(round++); // each component notices the end with its next call to Redis
            return dependencies.All(dependency => Count(app.Output, $"{dependency} works again") >= 1);
        }, TimeSpan.FromSeconds(90), "the end of the outage logged", () => app.Output);
        await TrafficAsync(round);

        foreach (var dependency in dependencies)
        {
            Assert.Equal(1, Count(app.Output, $"{dependency} is unavailable"));
            Assert.Equal(1, Count(app.Output, $"{dependency} works again"));
        }

        Assert.Equal(0, Count(app.Output, "failed for user")); // the per-request warning of a failing listener
        Assert.Equal(0, Count(app.Output, "Welcome emails stay in the outbox")); // sent without Redis, none held back
        Assert.Equal(0, Count(app.Output, "Microsoft.Extensions.Diagnostics.HealthChecks"));
    }

    private static int Count(string text, string what) => System.Text.RegularExpressions.Regex.Count(text, System.Text.RegularExpressions.Regex.Escape(what));
}
