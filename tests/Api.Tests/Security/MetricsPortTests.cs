namespace Api.Tests.Security;

/// <summary>With Metrics:Port set, the port a connection arrived on decides what it may reach, never the Host header.</summary>
public sealed class MetricsPortTests(MetricsPortTests.App app) : IClassFixture<MetricsPortTests.App>
{
    /// <summary>One app process with both listeners, shared by the cases below.</summary>
    public sealed class App : IAsyncLifetime
    {
        private TempApp _app = null!;

        public int MetricsPort { get; } = FreePort.Next();
        public AppProcess Process => _app.Process;

        public async Task InitializeAsync()
        {
            _app = await TempApp.StartAsync(new Dictionary<string, string?>
            {
                ["Metrics:Port"] = MetricsPort.ToString(),
                ["Metrics:Host"] = "127.0.0.1",
                ["Queue:Dashboard:ApiKey"] = "door-key",
            }, name: "metrics-door");
            await _app.WaitUntilReadyAsync();
        }

        public async Task DisposeAsync() => await _app.DisposeAsync();
    }

    private AppProcess Server => app.Process;
    private int MetricsPort => app.MetricsPort;

    [Theory]
    [InlineData(null)]
    [InlineData("evil:{metrics}")]
    [InlineData("127.0.0.1:{metrics}")]
    [InlineData("localhost:{metrics}")]
    public async Task The_public_port_never_serves_metrics_whatever_the_host_header(string? host)
    {
        using var client = new HttpClient { BaseAddress = Server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (host is not null)
        {
            request.Headers.Host = host.Replace("{metrics}", MetricsPort.ToString(), StringComparison.Ordinal);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("http_requests_total", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/", HttpStatusCode.NotFound)]
//#if (users)
    [InlineData("/api/users", HttpStatusCode.NotFound)]
//#endif
    [InlineData("/hangfire", HttpStatusCode.NotFound)]
    [InlineData("/hangfire/signin", HttpStatusCode.NotFound)]
    [InlineData("/openapi/v1.json", HttpStatusCode.NotFound)]
    [InlineData("/metrics", HttpStatusCode.OK)]
    [InlineData("/health/live", HttpStatusCode.OK)]
    [InlineData("/health/ready", HttpStatusCode.OK)]
    public async Task The_metrics_port_serves_metrics_and_health_and_nothing_else(string path, HttpStatusCode expected)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{MetricsPort}/") };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("X-API-Key", "door-key");
        // A Host naming the public port changes nothing either.
        request.Headers.Host = $"127.0.0.1:{Server.BaseAddress.Port}";

        using var response = await client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }
}
