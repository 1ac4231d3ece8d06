using System.Globalization;
using System.Text.Json;

namespace Api.Tests.Infrastructure;

/// <summary>
/// A real VictoriaMetrics single-node (Debian's <c>victoria-metrics</c>) on 127.0.0.1, with its data in a temporary
/// folder: Prometheus' remote_write lands at <see cref="WriteUrl"/>, PromQL is answered at the Prometheus API paths.
/// </summary>
public sealed class VictoriaMetricsServer : ServerProcess
{
    private VictoriaMetricsServer(Started started) : base(started) =>
        Api = new PromQlClient(new Uri($"http://127.0.0.1:{Port}/"), "VictoriaMetrics");

    public string WriteUrl => $"http://127.0.0.1:{Port}/api/v1/write";
    public PromQlClient Api { get; }

    /// <param name="flags">The server's flags from a function of its data folder and port (the test reads them from
    /// docker-compose.yml and swaps the folder and the address).</param>
    public static async Task<VictoriaMetricsServer> StartAsync(Func<string, int, IReadOnlyList<string>> flags)
    {
        var binary = Binaries.Find("victoria-metrics", "victoria-metrics", "/usr/bin/victoria-metrics");
        return new(await LaunchAsync("victoria-metrics", (data, port) => NativeProcess.Start(binary, flags(data, port)), "/health",
            TimeSpan.FromSeconds(30), dataFolder: "api-tests-victoriametrics"));
    }

    public override async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>One series of a query's answer: its labels and its (time, value) points, NaN included.</summary>
public sealed record PromSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(double Time, double Value)> Points)
{
    public string Key => string.Join(',', Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}

/// <summary>
/// The Prometheus HTTP query API as Grafana's Prometheus datasource calls it (instant, range, series), for any server
/// that speaks it: Prometheus itself or VictoriaMetrics.
/// </summary>
public sealed class PromQlClient(Uri baseAddress, string name) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(15) };

    /// <summary>An instant query at <paramref name="time"/> (now by default): the result type and the series (a scalar is one series without labels).</summary>
    public async Task<(string Type, IReadOnlyList<PromSeries> Series)> QueryAsync(string promql, DateTimeOffset? time = null)
    {
        var form = new List<KeyValuePair<string, string>> { new("query", promql) };
        if (time is { } at)
        {
            form.Add(new("time", Seconds(at)));
        }

        var data = await PostAsync("api/v1/query", form, promql);
        var type = data.GetProperty("resultType").GetString()!;
        return (type, type is "vector" or "matrix" ? Parse(data.GetProperty("result")) : [new PromSeries(new Dictionary<string, string>(), [Point(data.GetProperty("result"))])]);
    }

    public async Task<IReadOnlyList<PromSeries>> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step)
    {
        var data = await PostAsync("api/v1/query_range", [new("query", promql), new("start", Seconds(start)), new("end", Seconds(end)),
            new("step", step.TotalSeconds.ToString(CultureInfo.InvariantCulture))], promql);
        return Parse(data.GetProperty("result"));
    }

    /// <summary>The raw samples of the series a selector picks over the range (a range vector at <paramref name="end"/>).</summary>
    public async Task<IReadOnlyList<PromSeries>> SamplesAsync(string selector, DateTimeOffset start, DateTimeOffset end)
    {
        var window = (int)Math.Ceiling((end - start).TotalSeconds);
        return (await QueryAsync($"{selector}[{window}s]", end)).Series;
    }

    public void Dispose() => _http.Dispose();

    private static List<PromSeries> Parse(JsonElement result) =>
        result.EnumerateArray().Select(series => new PromSeries(
            series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
            series.TryGetProperty("values", out var values) ? values.EnumerateArray().Select(Point).ToList() : [Point(series.GetProperty("value"))]))
        .ToList();

    private static (double, double) Point(JsonElement pair) =>
        (pair[0].GetDouble(), double.Parse(pair[1].GetString()!, CultureInfo.InvariantCulture));

    private static string Seconds(DateTimeOffset time) =>
        (time.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);

    private async Task<JsonElement> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> form, string what)
    {
        using var content = new FormUrlEncodedContent(form);
        using var response = await _http.PostAsync(path, content);
        return await DataAsync(response, name, what);
    }

    /// <summary>The <c>data</c> of an answer of the Prometheus HTTP API; its own error message when the status is not success.</summary>
    public static async Task<JsonElement> DataAsync(HttpResponseMessage response, string server, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"{server} rejected {what}: {root.GetProperty("error").GetString()}");
        }

        return root.GetProperty("data").Clone();
    }
}
