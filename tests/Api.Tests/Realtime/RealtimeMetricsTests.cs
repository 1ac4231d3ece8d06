using Api.Realtime;

namespace Api.Tests.Realtime;

/// <summary>The metric's name and type are a contract with the seed's dashboards; a fresh app with no client yet.</summary>
[Collection(InProcessApp.Name)]
public sealed class RealtimeMetricsTests(DefaultApp app) : IClassFixture<DefaultApp>
{
    [Fact]
    public async Task The_gauge_is_exported_under_the_seeds_name_as_a_gauge_reading_zero_before_any_connection()
    {
        using var client = app.CreateClient();

        var scrape = await MetricsScrape.FetchAsync(client);

        Assert.Equal("websocket_connections_total", RealtimeMetrics.ConnectionsTotal);
        Assert.Contains("# TYPE websocket_connections_total gauge", scrape.Text, StringComparison.Ordinal);
        var sample = Assert.Single(scrape.Named(RealtimeMetrics.ConnectionsTotal));
        Assert.Equal(0, sample.Value);
        Assert.Equal(RealtimeMetrics.MeterName, sample.Label("otel_scope_name"));
    }
}
