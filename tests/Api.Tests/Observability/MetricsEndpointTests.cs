using Api.Observability;

namespace Api.Tests.Observability;

[Collection(InProcessApp.Name)]
public sealed class MetricsApiKeyTests(MetricsApiKeyTests.App app) : IClassFixture<MetricsApiKeyTests.App>
{
    public const string Key = "s3cret-scrape-key";

    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Metrics:ApiKey"] = Key });

    [Theory]
    [InlineData(null, null)]
    [InlineData("Authorization", "Bearer wrong-key")]
    [InlineData("Authorization", "Bearer " + Key + "x")]
    [InlineData("Authorization", "Basic czNjcmV0LXNjcmFwZS1rZXk=")]
    [InlineData("Authorization", Key)]
    [InlineData("X-API-Key", "wrong-key")]
    [InlineData("X-API-Key", "")]
    public async Task Scrape_without_the_right_key_is_401_problem(string? header, string? value)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        using var response = await client.SendAsync(request);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.DoesNotContain(Key, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Authorization", "Bearer " + Key)]
    [InlineData("Authorization", "bearer " + Key)]
    [InlineData("X-API-Key", Key)]
    public async Task Scrape_with_the_key_is_200_prometheus_text(string header, string value)
    {
        using var client = app.CreateClient();
        await client.GetAsync("/");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(HttpMetrics.RequestsTotal, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_itself_needs_no_key()
    {
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
    }
}

[Collection(InProcessApp.Name)]
public sealed class MetricsDisabledTests(MetricsDisabledTests.App app) : IClassFixture<MetricsDisabledTests.App>
{
    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Metrics:Enabled"] = "false" });

    [Fact]
    public Task With_metrics_disabled_requests_are_not_recorded_but_metrics_still_serves_the_rest() =>
        HttpRequestMetricsSwitchTests.RequestsAreNotRecordedButTheScrapeServesTheRestAsync(app);
}

[Collection(InProcessApp.Name)]
public sealed class HttpRequestMetricsSwitchTests(HttpRequestMetricsSwitchTests.App app) : IClassFixture<HttpRequestMetricsSwitchTests.App>
{
    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Metrics:HttpRequests:Enabled"] = "false" });

    [Fact]
    public Task The_key_named_for_what_it_switches_turns_off_the_request_metrics_and_not_the_scrape() =>
        RequestsAreNotRecordedButTheScrapeServesTheRestAsync(app);

    /// <summary>The old key (Metrics:Enabled, deprecated) and the new one switch the same thing.</summary>
    internal static async Task RequestsAreNotRecordedButTheScrapeServesTheRestAsync(ApiFactory app)
    {
        using var client = app.CreateClient();
        await client.GetAsync("/");

        var scrape = await MetricsScrape.FetchAsync(client);

        Assert.Empty(scrape.Named(HttpMetrics.RequestsTotal));
        Assert.Contains(scrape.Samples, s => s.Name.StartsWith("dotnet_", StringComparison.Ordinal));
    }
}

[Collection(InProcessApp.Name)]
public sealed class MetricsOnSeparatePortTests
{
    [Fact]
    public async Task Metrics_port_serves_metrics_and_the_public_port_does_not()
    {
        var metricsPort = FreePort.Next();
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["Metrics:Port"] = metricsPort.ToString(),
            ["Metrics:Host"] = "127.0.0.1",
        }, name: "metrics-port");
        using var publicClient = new HttpClient { BaseAddress = app.BaseAddress };
        using var metricsClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}/") };

        Assert.Equal(HttpStatusCode.OK, (await publicClient.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await publicClient.GetAsync("/metrics")).StatusCode);
        var scrape = await MetricsScrape.FetchAsync(metricsClient);
        Assert.Equal(1, scrape.Sum(HttpMetrics.RequestsTotal, ("route", "/"), ("status", "200")));
    }
}
