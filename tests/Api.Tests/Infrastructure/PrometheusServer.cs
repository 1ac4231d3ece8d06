using System.Text.Json;

namespace Api.Tests.Infrastructure;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package) on 127.0.0.1, loading a configuration file the test wrote,
/// with its data in a temporary folder. Queries go through the same HTTP API Grafana uses.
/// </summary>
public sealed class PrometheusServer : ServerProcess
{
    private readonly HttpClient _http;

    private PrometheusServer(Started started) : base(started) =>
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}/"), Timeout = TimeSpan.FromSeconds(10) };

    /// <param name="port">Chosen by the caller, because the configuration names it (Prometheus scrapes itself).</param>
    /// <param name="extraArguments">Further flags, such as <c>--enable-feature=exemplar-storage</c>.</param>
    /// <param name="environment">The <c>environment</c> external label (ENVIRONMENT, as docker-compose.yml sets it).</param>
    public static async Task<PrometheusServer> StartAsync(string configFile, int port, IReadOnlyList<string>? extraArguments = null,
        string environment = "production")
    {
        var binary = Binaries.Find("prometheus", "prometheus", "/usr/bin/prometheus");
        return new(await LaunchAsync("prometheus", (data, web) => NativeProcess.Start(binary,
        [
            $"--config.file={configFile}", $"--storage.tsdb.path={data}", $"--web.listen-address=127.0.0.1:{web}",
            "--storage.tsdb.retention.time=1h", "--web.enable-lifecycle",
            // As docker-compose.yml runs it: scrape_timeout_seconds, which the ApiScrapeSlow alert reads.
            "--enable-feature=extra-scrape-metrics", "--enable-feature=expand-external-labels",
            // Firing alerts are re-sent every minute by default; an alert evaluated before the Alertmanager target was
            // discovered would wait that long.
            "--rules.alert.resend-delay=1s", .. extraArguments ?? [],
        ], environment: new Dictionary<string, string?> { ["ENVIRONMENT"] = environment }), "/-/ready", TimeSpan.FromSeconds(30), port, dataFolder: "api-tests-prometheus"));
    }

    /// <summary>An instant query (now, or <paramref name="at"/>); fails with Prometheus' own error message when the query is invalid.</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string promql, DateTimeOffset? at = null)
    {
        using var content = new FormUrlEncodedContent(at is { } time
            ? [new("query", promql), new("time", (time.ToUnixTimeMilliseconds() / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture))]
            : [new KeyValuePair<string, string>("query", promql)]);
        using var response = await _http.PostAsync("api/v1/query", content);
        var data = await ReadDataAsync(response, promql);
        return data.GetProperty("resultType").GetString() is "vector" or "matrix"
            ? data.GetProperty("result").EnumerateArray().ToList()
            : [data.GetProperty("result")];
    }

    /// <summary>The trace ids of the exemplars stored for the series a query selects, over the last hour.</summary>
    public async Task<IReadOnlyList<string>> ExemplarTraceIdsAsync(string promql)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var response = await _http.GetAsync($"api/v1/query_exemplars?query={Uri.EscapeDataString(promql)}&start={now - 3600}&end={now + 60}");
        var data = await ReadDataAsync(response, promql);
        return data.EnumerateArray()
            .SelectMany(series => series.GetProperty("exemplars").EnumerateArray())
            .Select(exemplar => exemplar.GetProperty("labels").TryGetProperty("trace_id", out var id) ? id.GetString() ?? "" : "")
            .ToList();
    }

    /// <summary>Every metric name Prometheus holds a series of.</summary>
    public async Task<IReadOnlySet<string>> MetricNamesAsync()
    {
        using var response = await _http.GetAsync("api/v1/label/__name__/values");
        var data = await ReadDataAsync(response, "__name__ values");
        return data.EnumerateArray().Select(name => name.GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The active targets as (job, instance, health, last error).</summary>
    public async Task<IReadOnlyList<(string Job, string Instance, string Health, string Error)>> TargetsAsync()
    {
        using var response = await _http.GetAsync("api/v1/targets?state=active");
        var data = await ReadDataAsync(response, "targets");
        return data.GetProperty("activeTargets").EnumerateArray().Select(t => (
            t.GetProperty("labels").GetProperty("job").GetString()!,
            t.GetProperty("labels").GetProperty("instance").GetString()!,
            t.GetProperty("health").GetString()!,
            t.GetProperty("lastError").GetString() ?? "")).ToList();
    }

    /// <summary>Alerts pending or firing now, as (name, state, labels).</summary>
    public async Task<IReadOnlyList<(string Name, string State, JsonElement Labels)>> AlertsAsync()
    {
        using var response = await _http.GetAsync("api/v1/alerts");
        var data = await ReadDataAsync(response, "alerts");
        return data.GetProperty("alerts").EnumerateArray().Select(a => (
            a.GetProperty("labels").GetProperty("alertname").GetString()!,
            a.GetProperty("state").GetString()!,
            a.GetProperty("labels").Clone())).ToList();
    }

    /// <summary>Rule groups as Prometheus loaded them, with each rule's last evaluation error (empty when fine).</summary>
    public async Task<IReadOnlyList<(string Name, string Health, string Error)>> RulesAsync()
    {
        using var response = await _http.GetAsync("api/v1/rules");
        var data = await ReadDataAsync(response, "rules");
        return data.GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Select(r => (r.GetProperty("name").GetString()!, r.GetProperty("health").GetString()!,
                r.TryGetProperty("lastError", out var error) ? error.GetString() ?? "" : ""))
            .ToList();
    }

    public override async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await base.DisposeAsync();
    }

    private static Task<JsonElement> ReadDataAsync(HttpResponseMessage response, string what) => PromQlClient.DataAsync(response, "Prometheus", what);
}
