using System.Text.Json;
using Api.Tests.Infrastructure;
using Api.Tests.Monitoring;
using YamlDotNet.Serialization;

namespace Api.Tests.ScaleOut;

/// <summary>
/// Prometheus with the project's own prometheus.yml and alerts.yml, its api job discovering two instances from a
/// file (file_sd, as a deployment generates it): both are scraped, the service-wide rules give one series for the job
/// however many instances feed it, and a per-instance alert (ApiDown) names the one instance that died.
/// </summary>
public sealed class FleetMonitoringTests : IAsyncLifetime
{
    private const string Key = "fleet-scrape-key";
    private readonly string _folder = TempFolder.Create("api-tests-fleet-monitoring");
    private readonly List<AppProcess> _apps = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        TempFolder.Delete(_folder);
    }

    [Fact]
    public async Task Prometheus_discovers_every_instance_and_the_rules_read_the_fleet_as_one_job_and_alert_per_instance()
    {
        for (var i = 0; i < 2; i++)
        {
            var folder = Path.Combine(_folder, $"app{i}");
            Directory.CreateDirectory(folder);
            _apps.Add(await AppProcess.StartAsync(folder, new Dictionary<string, string?>
            {
                ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, "app.db")}",
                ["Email:PickupDirectory"] = Path.Combine(folder, "mail"),
                ["Metrics:ApiKey"] = Key,
            }, environment: new Dictionary<string, string?> { ["HOME"] = folder }));
        }

        var instances = _apps.Select(a => $"127.0.0.1:{a.BaseAddress.Port}").ToList();
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
        async Task TrafficAsync()
        {
            foreach (var app in _apps.Where(a => !a.HasExited))
            {
                await http.GetAsync(new Uri(app.BaseAddress, "/api/users"));
            }
        }

        await Eventually.HoldsAsync(async () =>
        {
            await TrafficAsync();
            var targets = await prometheus.TargetsAsync();
            return targets.Count(t => t.Job == "api" && t.Health == "up") == 2;
        }, TimeSpan.FromSeconds(60), "both instances scraped through file_sd", () => prometheus.Output);

        await Eventually.HoldsAsync(async () =>
        {
            await TrafficAsync();
            var fleet = await prometheus.QueryAsync("job:http_requests:rate5m");
            return fleet.Count == 1 && Labels(fleet[0]) == "job=api";
        }, TimeSpan.FromSeconds(60), "one service-wide series for the job, fed by both instances", () => prometheus.Output);
//#if (realtime)
        Assert.Single(await prometheus.QueryAsync("job:websocket_connections:sum"));
//#endif

        _apps[1].Kill();
        await Eventually.HoldsAsync(async () =>
        {
            await TrafficAsync();
            var firing = (await prometheus.AlertsAsync()).Where(a => a.Name == "ApiDown" && a.State == "firing").ToList();
            return firing.Count == 1 && firing[0].Labels.GetProperty("instance").GetString() == instances[1];
        }, TimeSpan.FromSeconds(60), "ApiDown firing for the killed instance only", () => prometheus.Output);
        var stillOne = await prometheus.QueryAsync("job:http_requests:rate5m");
        Assert.Single(stillOne);
    }

    private static string Labels(JsonElement series) =>
        string.Join(",", series.GetProperty("metric").EnumerateObject().Where(p => p.Name != "__name__").Select(p => $"{p.Name}={p.Value.GetString()}"));

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
