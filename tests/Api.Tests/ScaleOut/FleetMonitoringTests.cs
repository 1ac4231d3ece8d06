using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Api.Tests.Monitoring;
using YamlDotNet.Serialization;

namespace Api.Tests.ScaleOut;

/// <summary>
/// Prometheus with the project's own prometheus.yml and alerts.yml, its api job discovering three instances (on one
/// PostgreSQL) from a file (file_sd, as a deployment generates it): every instance is scraped; every app panel of the
/// dashboard answers with data and no NaN, a panel that sums or takes the max over the job equals the sum or max of the
/// same query per instance at the same instant, and a per-instance panel shows every instance; the service-wide rules
/// give one series for the job however many instances feed it, and a per-instance alert (ApiDown) names the one that died.
/// </summary>
public sealed partial class FleetMonitoringTests : IAsyncLifetime
{
    private const string Key = "fleet-scrape-key";
    private const int Instances = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _folder = TempFolder.Create("api-tests-fleet-monitoring");
    private TempFleet? _fleet;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }

        TempFolder.Delete(_folder);
    }

    [Fact]
    public async Task Prometheus_discovers_every_instance_the_dashboard_and_rules_read_the_fleet_and_alerts_are_per_instance()
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("fleet_monitoring");
        _fleet = await TempApp.StartFleetAsync(Instances, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database,
            ["Metrics:ApiKey"] = Key,
        }, "fleet-monitoring");
        var apps = _fleet.Instances;

        var instances = apps.Select(a => $"127.0.0.1:{a.BaseAddress.Port}").ToList();
        var port = FreePort.Next();
        var nothing = "127.0.0.1:1"; // the exporters and Alertmanager are not what this test is about
        var config = MonitoringConfig.WritePrometheus(_folder, new Dictionary<string, string>
        {
            ["api"] = instances[0], ["prometheus"] = $"127.0.0.1:{port}", ["alertmanager"] = nothing,
            ["postgres"] = nothing, ["redis"] = nothing, ["node"] = nothing,
        }, nothing, Key);
        UseFileDiscoveryForTheApi(config, instances);
        await using var prometheus = await PrometheusServer.StartAsync(config, port);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var stop = new CancellationTokenSource();
        var traffic = TrafficUntilAsync(apps, http, stop.Token);
        try
        {
            await Eventually.HoldsAsync(async () => (await prometheus.TargetsAsync()).Count(t => t.Job == "api" && t.Health == "up") == Instances,
                Patience, "every instance scraped through file_sd", () => prometheus.Output);
            await Eventually.HoldsAsync(async () =>
            {
                var fleet = await prometheus.QueryAsync("job:http_requests:rate5m");
                return fleet.Count == 1 && Labels(fleet[0]) == "job=api";
            }, Patience, "one service-wide series for the job, fed by every instance", () => prometheus.Output);
//#if (realtime)
            await Eventually.HoldsAsync(async () => (await prometheus.QueryAsync("job:websocket_connections:sum")).Count == 1,
                Patience, "one WebSocket total for the job", () => prometheus.Output);
//#endif

            await TheDashboardReadsTheFleetAsync(prometheus, instances);
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }

        apps[1].Kill();
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var app in apps.Where(a => !a.Process.HasExited))
            {
                await http.GetAsync(new Uri(app.BaseAddress, "/api/users"));
            }

            var firing = (await prometheus.AlertsAsync()).Where(a => a.Name == "ApiDown" && a.State == "firing").ToList();
            return firing.Count == 1 && firing[0].Labels.GetProperty("instance").GetString() == instances[1];
        }, Patience, "ApiDown firing for the killed instance only", () => prometheus.Output);
        Assert.Single(await prometheus.QueryAsync("job:http_requests:rate5m"));
    }

    /// <summary>Every app panel (the exporter rows read other jobs) as Grafana would draw it with every instance selected.</summary>
    private static async Task TheDashboardReadsTheFleetAsync(PrometheusServer prometheus, IReadOnlyList<string> instances)
    {
        var queries = Dashboards.Queries().Where(q => !ExporterVariable().IsMatch(q.Expr)).ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            var promql = Dashboards.Substitute(query.Expr, MonitoringConfig.Interval);
            var where = $"panel '{query.PanelTitle}' ({query.RefId}) over the fleet: {promql}";
            // No request here ends in an unhandled exception: that panel may be empty, as it is on a healthy service.
            var needsData = !query.Expr.Contains("status=\"500\"", StringComparison.Ordinal);
            IReadOnlyList<JsonElement> fleet = [];
            var at = DateTimeOffset.UtcNow;
            await Eventually.HoldsAsync(async () =>
            {
                // A few seconds back, so every scrape stamped before that instant has been stored by now: the fleet's
                // query and its instances' then read exactly the same samples.
                at = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(3);
                fleet = await prometheus.QueryAsync(promql, at);
                // A per-instance rate over a short window misses an instance whose last two scrapes are not both in
                // it yet (a slow scrape on a busy machine): asked again, never judged on one look.
                return (!needsData || fleet.Count > 0) && (!PerInstance(fleet) || InstancesIn(fleet).SetEquals(instances));
            }, Patience, "data for " + where, () => prometheus.Output);
            Assert.False(fleet.Any(s => Value(s) is double.NaN), $"NaN from {where}: {string.Join(", ", fleet)}");

            if (PerInstance(fleet))
            {
                var shown = InstancesIn(fleet);
                Assert.True(shown.SetEquals(instances), $"{where} shows instances [{string.Join(", ", shown)}] of [{string.Join(", ", instances)}]");
                continue;
            }

            // Over the job: a sum (or max, min) of instances must be what the same query gives per instance, combined.
            var combine = Aggregation(query);
            if (combine is null)
            {
                continue;
            }

            var perInstance = new List<IReadOnlyList<JsonElement>>();
            foreach (var instance in instances)
            {
                var one = query.Expr.Replace("instance=~\"$instance\"", $"instance=\"{instance}\"", StringComparison.Ordinal);
                Assert.NotEqual(query.Expr, one);
                perInstance.Add(await prometheus.QueryAsync(Dashboards.Substitute(one, MonitoringConfig.Interval), at));
            }

            var expected = perInstance.SelectMany(r => r).GroupBy(Labels).ToDictionary(g => g.Key, g => combine(g.Select(Value)));
            var actual = fleet.ToDictionary(Labels, Value);
            foreach (var (labels, value) in expected.Where(e => !actual.ContainsKey(e.Key)))
            {
                // `or vector(0)` on an instance without the series: a 0 the fleet's own answer rightly does not repeat.
                Assert.True(value == 0 && labels == "", $"{where}: the instances give {{{labels}}} = {value}, the fleet nothing");
            }

            foreach (var (labels, value) in actual)
            {
                Assert.True(expected.TryGetValue(labels, out var sum) && Math.Abs(sum - value) <= 1e-9 * Math.Max(1, Math.Abs(value)),
                    $"{where}: {{{labels}}} = {value.ToString(CultureInfo.InvariantCulture)} over the fleet, {(expected.TryGetValue(labels, out var s) ? s.ToString(CultureInfo.InvariantCulture) : "nothing")} from its instances");
            }
        }
    }

    private static bool PerInstance(IReadOnlyList<JsonElement> answer) =>
        answer.Any(s => s.GetProperty("metric").TryGetProperty("instance", out _));

    private static HashSet<string> InstancesIn(IReadOnlyList<JsonElement> answer) =>
        answer.Select(s => s.GetProperty("metric").GetProperty("instance").GetString()!).ToHashSet(StringComparer.Ordinal);

    /// <summary>How a panel's value over the job is made from its instances' (a sum, a max, a min), or null for a ratio or quantile.</summary>
    private static Func<IEnumerable<double>, double>? Aggregation(PanelQuery query) =>
        query.IsQuantile || Strings().Replace(query.Expr, "\"\"").Contains('/') ? null
        : query.Expr.StartsWith("sum", StringComparison.Ordinal) ? values => values.Sum()
        : query.Expr.StartsWith("max", StringComparison.Ordinal) ? values => values.Max()
        : query.Expr.StartsWith("min", StringComparison.Ordinal) ? values => values.Min()
        : null;

    [GeneratedRegex(@"\$(node|postgres|redis)\b")]
    private static partial Regex ExporterVariable();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex Strings();

    /// <summary>Reads, lists and sign-ups on every instance until stopped, so that rates, quantiles and the queue have data.</summary>
    private static async Task TrafficUntilAsync(IReadOnlyList<TempApp> apps, HttpClient http, CancellationToken stop)
    {
        for (var round = 0; !stop.IsCancellationRequested; round++)
        {
            foreach (var app in apps)
            {
                try
                {
                    if (round % 5 == 0)
                    {
                        await http.PostAsJsonAsync(new Uri(app.BaseAddress, "/api/users"), new { name = "Fleet", email = $"fleet-{Guid.NewGuid():N}@example.com" }, CancellationToken.None);
                    }

                    await http.GetAsync(new Uri(app.BaseAddress, "/"), CancellationToken.None);
                    await http.GetAsync(new Uri(app.BaseAddress, "/api/users?page=1&pageSize=5"), CancellationToken.None);
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    // A slow answer on a busy machine: traffic only feeds the panels, the assertions judge.
                }
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    private static double Value(JsonElement series) =>
        double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);

    private static string Labels(JsonElement series) =>
        string.Join(",", series.GetProperty("metric").EnumerateObject().Where(p => p.Name != "__name__").OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value.GetString()}"));

    /// <summary>The api job as a deployment runs it: targets from a file, rewritten whenever instances come and go.</summary>
    private void UseFileDiscoveryForTheApi(string config, IReadOnlyList<string> instances)
    {
        var targets = Path.Combine(_folder, "api-targets.yml");
        File.WriteAllText(targets, new SerializerBuilder().Build().Serialize(new List<object>
        {
            new Dictionary<string, object> { ["targets"] = instances.ToList() },
        }));
        var document = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(config));
        var api = ((List<object>)document["scrape_configs"]).Cast<Dictionary<object, object>>().Single(j => (string)j["job_name"] == "api");
        api.Remove("static_configs");
        api["file_sd_configs"] = new List<object> { new Dictionary<object, object> { ["files"] = new List<object> { targets }, ["refresh_interval"] = "1s" } };
        File.WriteAllText(config, new SerializerBuilder().Build().Serialize(document));
    }
}
