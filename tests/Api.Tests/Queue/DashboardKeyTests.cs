namespace Api.Tests.Queue;

/// <summary>
/// Each key opens only its own door: the scrape credential, which sits in Prometheus' configuration, never opens the
/// job dashboard (which deletes and requeues jobs). Without Queue:Dashboard:ApiKey the dashboard is closed.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class DashboardKeyTests(DashboardKeyTests.App app) : IClassFixture<DashboardKeyTests.App>
{
    public const string MetricsKey = "metrics-only-key";

    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Metrics:ApiKey"] = MetricsKey });

    [Theory]
    [InlineData("Authorization", "Bearer " + MetricsKey)]
    [InlineData("X-API-Key", MetricsKey)]
    public async Task The_metrics_key_opens_the_scrape_and_not_the_dashboard(string header, string value)
    {
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        client.DefaultRequestHeaders.TryAddWithoutValidation(header, value);

        using var scrape = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);

        using var dashboard = await client.GetAsync("/hangfire");
        await ProblemAssert.AssertProblemAsync(dashboard, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_sign_in_form_says_the_dashboard_has_no_key_of_its_own()
    {
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        var form = await client.GetStringAsync("/hangfire/signin");

        Assert.Contains("No dashboard key is configured (Queue:Dashboard:ApiKey)", form, StringComparison.Ordinal);
    }
}
