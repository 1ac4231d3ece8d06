using System.Diagnostics;
using Api.Observability;

namespace Api.Tests.Observability;

/// <summary>
/// A real Prometheus with exemplar storage scrapes the app (asking for OpenMetrics, as it always does) and keeps the
/// trace id of a sampled request on the latency histogram and the request counter.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class ExemplarTests
{
    [Fact]
    public async Task Prometheus_stores_the_trace_id_of_a_sampled_request_as_an_exemplar_of_both_http_metrics()
    {
        // Traces are recorded only when exported, so the app exports them to a real receiver.
        await using var dashboard = await AspireDashboard.StartAsync();
        await using var app = new ApiFactory(dashboard.ExportSettings);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var folderScope = TempFolder.Scoped("api-tests-exemplars");
        var folder = folderScope.Path;
        var port = FreePort.Next();
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: api
                static_configs:
                  - targets: ["{app.BaseAddress.Authority}"]
            """);
        await using var prometheus = await PrometheusServer.StartAsync(config, port, ["--enable-feature=exemplar-storage"]);
        // A route nothing else calls, so the exemplar on its series can only be this request's.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/users/{Guid.NewGuid()}");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        const string route = "route=\"/api/users/{id:guid}\"";
        foreach (var series in new[] { $"{HttpMetrics.RequestDuration}_bucket{{{route}}}", $"{HttpMetrics.RequestsTotal}{{{route}}}" })
        {
            IReadOnlyList<string> found = [];
            await Eventually.HoldsAsync(async () => (found = await prometheus.ExemplarTraceIdsAsync(series)).Contains(traceId),
                TimeSpan.FromSeconds(30), $"an exemplar with trace id {traceId} on {series}",
                () => $"Exemplars: {string.Join(", ", found)}\n{prometheus.Output}");
        }
    }
}
