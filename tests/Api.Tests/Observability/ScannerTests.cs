using Api.Observability;

namespace Api.Tests.Observability;

/// <summary>A scanner sending thousands of random URLs and methods must not add series beyond the fixed unmatched ones.</summary>
[Collection(InProcessApp.Name)]
public sealed class ScannerTests(DefaultApp app) : IClassFixture<DefaultApp>
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "BREW", "get", "XYZZY", "M-SEARCH"];

    [Fact]
    public async Task Random_urls_and_methods_add_only_bounded_unmatched_series()
    {
        using var client = app.CreateClient();
        await client.GetAsync("/");
        var before = await MetricsScrape.FetchAsync(client);
        var random = new Random(20261125);
        using var throttle = new SemaphoreSlim(32);

        await Task.WhenAll(Enumerable.Range(0, 3000).Select(async i =>
        {
            var method = Methods[random.Next(Methods.Length)];
            var path = $"/{Guid.NewGuid():N}/{random.Next()}/wp-admin{i}.php?q={i}";
            await throttle.WaitAsync();
            try
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                using var response = await client.SendAsync(request);
            }
            finally
            {
                throttle.Release();
            }
        }));
        var after = await MetricsScrape.FetchAsync(client);

        var known = before.Named(HttpMetrics.RequestsTotal).Select(s => s.SeriesKey).ToHashSet();
        var added = after.Named(HttpMetrics.RequestsTotal).Where(s => !known.Contains(s.SeriesKey)).ToList();
        Assert.All(added, s => Assert.Equal(HttpMetrics.UnmatchedRoute, s.Label("route")));
        Assert.All(added, s => Assert.Contains(s.Label("method"), new[] { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", HttpMetrics.OtherMethod }));
        Assert.InRange(added.Count, 1, 8 * 2); // at most every method bucket times 404/405
        Assert.Equal(3000, after.Sum(HttpMetrics.RequestsTotal, ("route", HttpMetrics.UnmatchedRoute)) - before.Sum(HttpMetrics.RequestsTotal, ("route", HttpMetrics.UnmatchedRoute)));
    }

    [Theory]
    [InlineData("GET", "GET")]
    [InlineData("get", "GET")]
    [InlineData("Delete", "DELETE")]
    [InlineData("PROPFIND", HttpMetrics.OtherMethod)]
    [InlineData("", HttpMetrics.OtherMethod)]
    public void Methods_collapse_to_a_fixed_set(string method, string label) =>
        Assert.Equal(label, HttpMetrics.NormalizeMethod(method));

    [Theory]
    [InlineData(200, "200")]
    [InlineData(404, "404")]
    [InlineData(999, "999")]
    [InlineData(1000, "other")]
    [InlineData(-1, "other")]
    public void Status_codes_are_preformatted(int code, string label)
    {
        Assert.Equal(label, HttpMetrics.StatusCodeText(code));
        Assert.Same(HttpMetrics.StatusCodeText(code), HttpMetrics.StatusCodeText(code));
    }
}
