using System.Diagnostics;
using Api.Observability;
using BenchmarkDotNet.Attributes;
using OpenTelemetry.Metrics;

namespace Api.Benchmarks;

/// <summary>
/// One scrape of /metrics over loopback, rendered afresh each time (the app's default: no scrape cache), with the
/// given number of series in the two HTTP metrics. "Series" counts what Prometheus stores (scrape_samples_scraped):
/// each label set makes one counter series and 14 histogram series (11 buckets, +Inf, _sum, _count), so 1,000 series
/// are 67 routes. Target: ≤ 20 ms at 10,000.
/// </summary>
[MemoryDiagnoser]
public class ScrapeBenchmarks
{
    private const int SeriesPerLabelSet = 1 + 11 + 1 + 2;

    private InProcessApi _api = null!;
    private HttpClient _client = null!;

    [Params(1_000, 10_000, 100_000)]
    public int Series { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // OpenTelemetry keeps at most 2,000 label sets per metric by default (the rest fold into one overflow series);
        // the 100,000-series case needs 6,667, so raise the limit here. The app keeps the default: its routes are few.
        _api = InProcessApi.StartAsync(services => services.ConfigureOpenTelemetryMeterProvider(metrics => metrics
            .AddView(HttpMetrics.RequestsTotal, new MetricStreamConfiguration { CardinalityLimit = 10_000 })
            .AddView(HttpMetrics.RequestDuration, new MetricStreamConfiguration { CardinalityLimit = 10_000 })))
            .GetAwaiter().GetResult();
        _client = new HttpClient { BaseAddress = _api.BaseAddress };

        var start = Stopwatch.GetTimestamp();
        var labelSets = Series / SeriesPerLabelSet;
        for (var i = 0; i < labelSets; i++)
        {
            _api.Metrics.Record("GET", $"/api/resource{i}/{{id}}", 200, start);
        }

        var body = _client.GetStringAsync(new Uri("/metrics", UriKind.Relative)).GetAwaiter().GetResult();
        var httpSeries = body.Split('\n').Count(line => line.StartsWith("http_request", StringComparison.Ordinal));
        Console.WriteLine($"// {labelSets} routes: {httpSeries} http_* series, {body.Length / 1024} KiB per scrape");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _api.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "GET /metrics (render + loopback)")]
    public async Task Scrape()
    {
        using var response = await _client.GetAsync(new Uri("/metrics", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await response.Content.CopyToAsync(Stream.Null);
    }
}
