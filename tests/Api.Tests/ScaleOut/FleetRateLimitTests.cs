using System.Diagnostics;

namespace Api.Tests.ScaleOut;

/// <summary>
/// The sign-up limit holds for the fleet, not per process: two instances on one Redis share one count per client,
/// and a restart does not reset it. With Redis hung (SIGSTOP) it fails open to each instance's own count: every
/// request is answered, none with a 5xx, none waiting on Redis, and the outage is one warning in the log.
/// </summary>
public sealed class FleetRateLimitTests : IAsyncLifetime
{
    private const int Limit = 5;
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Two_instances_share_one_count_per_client_and_a_restart_does_not_reset_it()
    {
        await using var fleet = await TempApp.StartFleetAsync(2, Settings(), "fleet-limit");
        var (a, b) = (fleet[0], fleet[1]);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4 * Limit; i++)
        {
            statuses.Add(await SignUpAsync(client, i % 2 == 0 ? a : b, $"shared-{i}"));
        }

        Assert.Equal(Limit, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(3 * Limit, statuses.Count(s => s == HttpStatusCode.TooManyRequests));

        Assert.Equal(0, await a.TerminateAsync(TimeSpan.FromSeconds(60)));
        await a.RestartAsync();
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignUpAsync(client, a, "after-restart"));
    }

    [Fact]
    public async Task With_redis_hung_the_limit_fails_open_to_the_instance_count_without_errors_or_waits_and_logs_once()
    {
        await using var app = await TempApp.StartAsync(Settings(), "fleet-limit", ownHome: true);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        for (var i = 0; i < Limit; i++)
        {
            Assert.Equal(HttpStatusCode.Created, await SignUpAsync(client, app, $"before-{i}"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await SignUpAsync(client, app, "over"));

        _redis.Hang();
        var statuses = new List<HttpStatusCode>();
        var slowest = TimeSpan.Zero;
        try
        {
            for (var i = 0; i < 3 * Limit; i++)
            {
                var clock = Stopwatch.StartNew();
                statuses.Add(await SignUpAsync(client, app, $"hung-{i}"));
                slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
            }
        }
        finally
        {
            _redis.Resume();
        }

        // This instance's own window starts empty: the limit again, then 429. Redis hung stays hung (SIGSTOP) for
        // as long as the test wants, so a request that waited on it would take the client's whole time-out (30 s).
        Assert.Equal(Limit, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(2 * Limit, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.True(slowest < TimeSpan.FromSeconds(5), $"a sign-up waited {slowest.TotalSeconds:0.0} s on the hung Redis");
        Assert.Equal(1, Count(app.Output, "The rate limits' Redis is unavailable"));

        // Back: counted in Redis again, where this client's window is still full.
        await Eventually.HoldsAsync(() => app.Output.Contains("The rate limits' Redis works again", StringComparison.Ordinal)
            || SignUpAsync(client, app, $"back-{Guid.NewGuid():N}").Result == HttpStatusCode.TooManyRequests && app.Output.Contains("works again", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the rate limit's Redis back", () => app.Output);
    }

    private static async Task<HttpStatusCode> SignUpAsync(HttpClient client, TempApp app, string name)
    {
        using var response = await client.PostAsJsonAsync(new Uri(app.BaseAddress, "/api/users"), new { name, email = $"{name}-{Guid.NewGuid():N}@example.com" });
        Assert.True((int)response.StatusCode < 500, $"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}\n{app.Output}");
        return response.StatusCode;
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["ConnectionStrings:Redis"] = _redis.ConnectionString,
        ["RateLimit:Enabled"] = "true",
        ["RateLimit:SignUpsPerMinute"] = Limit.ToString(),
        ["Shutdown:DrainSeconds"] = "0",
    };

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
