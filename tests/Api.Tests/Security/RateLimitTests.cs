using Api.Observability;

namespace Api.Tests.Security;

/// <summary>
/// Sign-up mails a caller-chosen address, so it is limited per client address; a forged X-Forwarded-For changes the
/// address only when it comes from a configured proxy.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class RateLimitTests
{
    private const int PerMinute = 3;

    private static ApiFactory StartApp(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["RateLimit:Enabled"] = "true",
            ["RateLimit:SignUpsPerMinute"] = PerMinute.ToString(),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return new ApiFactory(settings);
    }

    private static Task<HttpResponseMessage> SignUpAsync(HttpClient client, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/users")
        {
            Content = JsonContent.Create(new { name = "Limited", email = $"rl-{Guid.NewGuid():N}@example.com" }),
        };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return client.SendAsync(request);
    }

    [Fact]
    public async Task Sign_ups_past_the_limit_are_429_problem_with_retry_after_and_counted_and_a_forged_header_changes_nothing()
    {
        await using var app = StartApp();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        for (var i = 0; i < PerMinute; i++)
        {
            using var accepted = await SignUpAsync(client, $"10.0.0.{i}");
            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }

        using var limited = await SignUpAsync(client, "10.9.9.9");
        await ProblemAssert.AssertProblemAsync(limited, HttpStatusCode.TooManyRequests);
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 60);

        // Reading is not limited; the 429 is in the request metrics under its route.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/users")).StatusCode);
        var scrape = await MetricsScrape.FetchAsync(client);
        Assert.Equal(1, scrape.Sum(HttpMetrics.RequestsTotal, ("method", "POST"), ("route", "/api/users"), ("status", "429")));
    }

    [Fact]
    public async Task Through_a_trusted_proxy_each_client_has_its_own_limit_and_a_forged_header_still_changes_nothing()
    {
        await using var app = StartApp(("ForwardedHeaders:KnownProxies:0", "127.0.0.1"));
        await using var proxy = await LoopbackProxy.StartAsync(app.BaseAddress);
        using var first = LoopbackProxy.ClientFrom("127.0.0.2", proxy.Address);
        using var second = LoopbackProxy.ClientFrom("127.0.0.3", proxy.Address);

        for (var i = 0; i < PerMinute; i++)
        {
            using var accepted = await SignUpAsync(first, $"10.0.0.{i}");
            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }

        using var limited = await SignUpAsync(first, "10.9.9.9");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        using var other = await SignUpAsync(second);
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }

    [Fact]
    public async Task Without_configured_proxies_the_proxys_forwarded_header_is_not_believed()
    {
        await using var app = StartApp();
        await using var proxy = await LoopbackProxy.StartAsync(app.BaseAddress);
        using var first = LoopbackProxy.ClientFrom("127.0.0.2", proxy.Address);
        using var second = LoopbackProxy.ClientFrom("127.0.0.3", proxy.Address);

        for (var i = 0; i < PerMinute; i++)
        {
            (await SignUpAsync(first)).Dispose();
        }

        // Everyone behind the untrusted proxy is 127.0.0.1: one budget, shared (safe, if coarse, until it is configured).
        using var response = await SignUpAsync(second);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
    }

    [Fact]
    public async Task Guessing_the_dashboard_key_is_limited_too()
    {
        await using var app = StartApp(("Queue:Dashboard:ApiKey", "guess-me"));
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 11; i++)
        {
            using var response = await client.PostAsync("/hangfire/signin", new FormUrlEncodedContent([new("key", $"guess-{i}")]));
            statuses.Add(response.StatusCode);
        }

        Assert.DoesNotContain(HttpStatusCode.TooManyRequests, statuses.Take(10));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[10]);
    }

    [Fact]
    public async Task Off_means_no_limit()
    {
        await using var app = new ApiFactory(new Dictionary<string, string?> { ["RateLimit:SignUpsPerMinute"] = "1" });
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        for (var i = 0; i < 3; i++)
        {
            using var response = await SignUpAsync(client);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }
}
