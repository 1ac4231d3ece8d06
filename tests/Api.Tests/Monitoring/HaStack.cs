using Npgsql;

namespace Api.Tests.Monitoring;

/// <summary>
/// docker-compose.yml's ha shape on loopback: the app (a separate process, so a test can kill it) with its exporters,
/// two Prometheus replicas loading one configuration (<see cref="HaConfig"/>), both scraping everything and writing to
/// one VictoriaMetrics, both alerting to a cluster of two Alertmanagers that mail one SMTP sink. Servers that do not
/// need each other start at the same time.
/// </summary>
public sealed class HaStack : IAsyncLifetime
{
    public const string ApiKey = "ha-scrape-key";

    /// <summary>The test's scrape and evaluation interval, and VictoriaMetrics' deduplication interval with it.</summary>
    public static readonly TimeSpan Interval = MonitoringConfig.Interval;

    /// <summary>A cluster member waits this long per place in the member list before notifying what the one before it may have sent (15 s by default).</summary>
    public static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(3);

    private readonly string _folder = TempFolder.Create("api-tests-ha");
    private readonly int[] _replicaPorts = [FreePort.Next(), FreePort.Next()];
    private readonly CancellationTokenSource _stopTraffic = new();
    private RedisServer? _redis;
    private PostgresServer? _postgres;
    private ExporterProcess? _postgresExporter;
    private ExporterProcess? _redisExporter;
    private ExporterProcess? _nodeExporter;
    private Task _traffic = Task.CompletedTask;
    private readonly int[] _gossipPorts = [FreePort.Next(), FreePort.Next()];
    private string _prometheusConfig = "";
    private string _alertmanagerConfig = "";

    public TempApp App { get; private set; } = null!;

    /// <summary>When the app or a replica last (re)started: series and samples before it may be missing.</summary>
    public DateTimeOffset LastRestart { get; private set; }
    public SmtpSink Mail { get; private set; } = null!;
    public VictoriaMetricsServer VictoriaMetrics { get; private set; } = null!;
    public AlertmanagerServer[] Alertmanagers { get; } = new AlertmanagerServer[2];
    public PrometheusServer?[] Replicas { get; } = new PrometheusServer?[2];
    public PromQlClient[] ReplicaApis { get; } = new PromQlClient[2];

    /// <summary>The external labels every sample and alert of either replica carries (prometheus.yml's).</summary>
    public IReadOnlySet<string> ExternalLabels { get; private set; } = new HashSet<string>();

    public async Task InitializeAsync()
    {
        var app = TempApp.StartAsync(new Dictionary<string, string?> { ["Metrics:ApiKey"] = ApiKey }, name: "ha");
        var mail = SmtpSink.StartAsync();
        var victoriaMetrics = VictoriaMetricsServer.StartAsync((data, port) => HaConfig.VictoriaMetricsFlags(data, port, Interval));
        var exporters = StartExportersAsync();
        Mail = await mail;

        _alertmanagerConfig = HaConfig.WriteAlertmanager(_folder, Mail.Port, 5 * Interval);
        var alertmanagers = Enumerable.Range(0, 2).Select(member => StartAlertmanagerAsync(member)).ToList();
        App = await app;
        VictoriaMetrics = await victoriaMetrics;
        await exporters;
        for (var member = 0; member < 2; member++)
        {
            Alertmanagers[member] = await alertmanagers[member];
        }

        // A cold app's first /metrics takes most of the test's 1 s scrape timeout (JIT): scrape it once first.
        using (var http = new HttpClient { BaseAddress = App.BaseAddress })
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
            (await http.GetAsync("/metrics")).EnsureSuccessStatusCode();
        }

        _prometheusConfig = HaConfig.WritePrometheus(_folder, new Dictionary<string, string>
        {
            ["api"] = $"127.0.0.1:{App.BaseAddress.Port}",
            ["postgres"] = _postgresExporter!.Address,
            ["redis"] = _redisExporter!.Address,
            ["node"] = _nodeExporter!.Address,
        }, _replicaPorts.Select(port => $"127.0.0.1:{port}").ToList(),
            Alertmanagers.Select(a => $"127.0.0.1:{a.Port}").ToList(), VictoriaMetrics.WriteUrl, ApiKey);
        ExternalLabels = ReadExternalLabels(_prometheusConfig);
        await Task.WhenAll(StartReplicaAsync(0), StartReplicaAsync(1));
        await UntilClusterFormedAsync();
        LastRestart = DateTimeOffset.UtcNow;
        _traffic = DriveTrafficAsync(_stopTraffic.Token);
    }

    /// <summary>Starts replica <paramref name="index"/> (again, with an empty disk, after a kill) and waits for its first scrape of the app.</summary>
    public async Task StartReplicaAsync(int index)
    {
        Replicas[index] = await PrometheusServer.StartAsync(_prometheusConfig, _replicaPorts[index]);
        ReplicaApis[index]?.Dispose();
        ReplicaApis[index] = new PromQlClient(new Uri($"http://127.0.0.1:{_replicaPorts[index]}/"), $"Prometheus replica {index}");
        await Eventually.HoldsAsync(async () => (await Replicas[index]!.QueryAsync("up{job=\"api\"} == 1")).Count == 1,
            TimeSpan.FromSeconds(60), $"replica {index}'s first scrape of the app", Diagnostics);
        LastRestart = DateTimeOffset.UtcNow;
    }

    public async Task KillReplicaAsync(int index)
    {
        var replica = Replicas[index]!;
        Replicas[index] = null;
        replica.Kill();
        await replica.DisposeAsync();
    }

    /// <summary>Starts cluster member <paramref name="member"/> (again, after a kill, on its ports and with an empty disk).</summary>
    public Task<AlertmanagerServer> StartAlertmanagerAsync(int member) =>
        AlertmanagerServer.StartAsync(_alertmanagerConfig, HaConfig.AlertmanagerClusterFlags(_gossipPorts, member, PeerTimeout),
            Alertmanagers[member]?.Port);

    public async Task KillAlertmanagerAsync(int member)
    {
        AlertmanagersDown.Add(member);
        Alertmanagers[member].Kill();
        await Alertmanagers[member].DisposeAsync();
    }

    public async Task RestartAlertmanagerAsync(int member)
    {
        Alertmanagers[member] = await StartAlertmanagerAsync(member);
        AlertmanagersDown.Remove(member);
        await UntilClusterFormedAsync();
    }

    /// <summary>The members a test has killed and not started again.</summary>
    public HashSet<int> AlertmanagersDown { get; } = [];

    public bool AppDown { get; private set; }

    public async Task UntilClusterFormedAsync() =>
        await Eventually.HoldsAsync(async () => await ClusterPeersAsync(Alertmanagers[0]) == 2 && await ClusterPeersAsync(Alertmanagers[1]) == 2,
            TimeSpan.FromSeconds(60), "both Alertmanagers in one cluster", Diagnostics);

    public void KillApp()
    {
        AppDown = true;
        App.Kill();
    }

    /// <summary>The app again on its address, so both replicas scrape it where they did.</summary>
    public async Task RestartAppAsync()
    {
        await App.RestartAsync();
        AppDown = false;
        LastRestart = DateTimeOffset.UtcNow;
    }

    private async Task StartExportersAsync()
    {
        // A server of its own, not the shared one: pg_stat_database counts every database of a server, and other tests'
        // bursts of rollbacks (a taken address is a failed insert) made the panels' rates differ between the engines.
        _postgres = await PostgresServer.StartAsync();
        var database = new NpgsqlConnectionStringBuilder(await _postgres.CreateDatabaseAsync("ha"));
        var postgresExporter = ExporterProcess.StartPostgresAsync(
            $"postgresql://{database.Username}@{database.Host}:{database.Port}/{database.Database}?sslmode=disable");
        var nodeExporter = ExporterProcess.StartNodeAsync();
        _redis = await RedisServer.StartAsync();
        _redisExporter = await ExporterProcess.StartRedisAsync(_redis.Port);
        _postgresExporter = await postgresExporter;
        _nodeExporter = await nodeExporter;
    }

    /// <summary>
    /// A steady trickle the dashboards' rates can be compared on: sign-ups, reads, a client error and an unknown route
    /// every 200 ms, bounded by the fixture's life. It never touches GET /api/users/{id}, which the counter test owns.
    /// While the app is down (the alert test), the failures are expected and ignored.
    /// </summary>
    private async Task DriveTrafficAsync(CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = App.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        for (var i = 0; !stop.IsCancellationRequested && i < 10_000; i++)
        {
            try
            {
                using var response = await ((i % 4) switch
                {
                    0 => http.PostAsJsonAsync("/api/users", new { name = $"Replicated {i}", email = $"ha-{i}-{Guid.NewGuid():N}@example.com" }, stop),
                    1 => http.GetAsync("/api/users", stop),
                    2 => http.PostAsJsonAsync("/api/users", new { name = "", email = "not-an-email" }, stop),
                    _ => http.GetAsync("/no-such-page", stop),
                });
                await Task.Delay(200, stop);
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                if (!stop.IsCancellationRequested)
                {
                    await Task.Delay(200, CancellationToken.None);
                }
            }
        }
    }

    /// <summary>The members an Alertmanager sees in its cluster, itself included (its /api/v2/status).</summary>
    public static async Task<int> ClusterPeersAsync(AlertmanagerServer alertmanager)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var status = await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"http://127.0.0.1:{alertmanager.Port}/api/v2/status");
        return status.GetProperty("cluster").TryGetProperty("peers", out var peers) ? peers.GetArrayLength() : 0;
    }

    /// <summary>Each member's count of emails sent, for failure messages.</summary>
    public async Task<string> NotificationsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var counts = new List<string>();
        for (var member = 0; member < Alertmanagers.Length; member++)
        {
            var metrics = AlertmanagersDown.Contains(member) ? "" : await http.GetStringAsync($"http://127.0.0.1:{Alertmanagers[member].Port}/metrics");
            counts.Add($"alertmanager {member}: " + string.Join(", ", metrics.Split('\n').Where(l => l.StartsWith("alertmanager_notifications_total{integration=\"email\"", StringComparison.Ordinal))));
        }

        return string.Join("\n", counts) + "\n";
    }

    private static HashSet<string> ReadExternalLabels(string configFile)
    {
        var config = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(configFile));
        var global = (Dictionary<object, object>)config["global"];
        return global.TryGetValue("external_labels", out var labels)
            ? ((Dictionary<object, object>)labels).Keys.Cast<string>().ToHashSet(StringComparer.Ordinal)
            : [];
    }

    public string Diagnostics() =>
        $"--- mail ---\n{string.Join("\n", Mail?.Received.Select(m => $"{m.To}: {m.Subject}") ?? [])}\n" +
        $"--- victoriametrics ---\n{Tail(VictoriaMetrics?.Output)}\n" +
        string.Concat(Replicas.Select((r, i) => $"--- prometheus {i} ---\n{Tail(r?.Output)}\n")) +
        string.Concat(Alertmanagers.Select((a, i) => $"--- alertmanager {i} ---\n{Tail(a?.Output)}\n")) +
        $"--- app ---\n{Tail(App?.Output)}";

    private static string Tail(string? text) => text is null ? "" : text.Length > 2500 ? text[^2500..] : text;

    public async Task DisposeAsync()
    {
        await _stopTraffic.CancelAsync();
        await _traffic;
        _stopTraffic.Dispose();
        foreach (var api in ReplicaApis)
        {
            api?.Dispose();
        }

        foreach (var disposable in new IAsyncDisposable?[] { Replicas[0], Replicas[1], Alertmanagers[0], Alertmanagers[1], VictoriaMetrics, Mail, App, _nodeExporter, _redisExporter, _postgresExporter, _redis, _postgres })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }

        TempFolder.Delete(_folder);
    }
}
