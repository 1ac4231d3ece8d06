using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace Api.Tests.Monitoring;

/// <summary>
/// The ha shape of the shipped files (docker-compose.yml's ha profile, API_TARGET=ha) made runnable on loopback, on top
/// of <see cref="MonitoringConfig"/>'s rewrite of prometheus.yml with the target set prometheus/targets/ha:
/// <list type="bullet">
/// <item>the two-member jobs of the set (prometheus, alertmanager) and the Alertmanagers alerts go to get every member's
/// loopback address;</item>
/// <item>remote-write.yml of the set is appended with VictoriaMetrics' address, as the compose entrypoint appends it;</item>
/// <item>VictoriaMetrics and the Alertmanager cluster run with docker-compose.yml's own flags, addresses and folders
/// swapped, the deduplication interval set to the test's scrape interval.</item>
/// </list>
/// Both replicas load the one file written: the same configuration, rules and external labels.
/// </summary>
public static partial class HaConfig
{
    public const string Shape = "ha";

    /// <summary>Writes the configuration both replicas load; returns its path.</summary>
    /// <param name="targets">job to host:port, for the jobs with one member (see <see cref="MonitoringConfig.WritePrometheus"/>).</param>
    public static string WritePrometheus(string folder, IReadOnlyDictionary<string, string> targets, IReadOnlyList<string> replicas,
        IReadOnlyList<string> alertmanagers, string remoteWriteUrl, string apiKey)
    {
        var members = new Dictionary<string, IReadOnlyList<string>> { ["prometheus"] = replicas, ["alertmanager"] = alertmanagers };
        var single = new Dictionary<string, string>(targets) { ["prometheus"] = replicas[0], ["alertmanager"] = alertmanagers[0] };
        var file = MonitoringConfig.WritePrometheus(folder, single, alertmanagers[0], apiKey, Shape);

        var config = Load(file);
        foreach (var job in List(config, "scrape_configs").Cast<Dictionary<object, object>>())
        {
            if (members.TryGetValue((string)job["job_name"], out var addresses))
            {
                Assert.Equal(addresses.Count, ShippedTargets((string)job["job_name"]));
                job["static_configs"] = StaticTargets(addresses);
            }
        }

        foreach (var manager in List((Dictionary<object, object>)config["alerting"], "alertmanagers").Cast<Dictionary<object, object>>())
        {
            manager["static_configs"] = StaticTargets(alertmanagers);
        }

        Assert.False(config.ContainsKey("remote_write"), "prometheus.yml itself must not write remotely: the shape's remote-write.yml adds that.");
        var remoteWrite = List(Load(ShapeFile("remote-write.yml")), "remote_write").Cast<Dictionary<object, object>>().ToList();
        Assert.Single(remoteWrite);
        Assert.EndsWith("/api/v1/write", (string)remoteWrite[0]["url"], StringComparison.Ordinal);
        remoteWrite[0]["url"] = remoteWriteUrl;
        // Shortened with the intervals: a batch leaves after 5 s at the latest by default.
        remoteWrite[0]["queue_config"] = new Dictionary<object, object> { ["batch_send_deadline"] = "1s" };
        config["remote_write"] = remoteWrite;

        File.WriteAllText(file, new SerializerBuilder().Build().Serialize(config));
        return file;
    }

    /// <summary>
    /// <see cref="MonitoringConfig.WriteAlertmanager"/>'s file, with every group_interval at <paramref name="groupInterval"/>:
    /// the replicas resolve an alert up to an evaluation apart, and a group_interval shorter than that mails the flap
    /// (resolved, firing again from the later replica, resolved) that the shipped 5 m absorbs.
    /// </summary>
    public static string WriteAlertmanager(string folder, int smtpPort, TimeSpan groupInterval)
    {
        var file = MonitoringConfig.WriteAlertmanager(folder, smtpPort);
        var config = Load(file);
        void Lengthen(Dictionary<object, object> route)
        {
            if (route.ContainsKey("group_interval"))
            {
                route["group_interval"] = $"{(int)groupInterval.TotalSeconds}s";
            }

            foreach (var child in List(route, "routes").Cast<Dictionary<object, object>>())
            {
                Lengthen(child);
            }
        }

        Lengthen((Dictionary<object, object>)config["route"]);
        File.WriteAllText(file, new SerializerBuilder().Build().Serialize(config));
        return file;
    }

    /// <summary>docker-compose.yml's VictoriaMetrics flags with the folder, the address and the deduplication interval swapped.</summary>
    public static IReadOnlyList<string> VictoriaMetricsFlags(string dataFolder, int port, TimeSpan scrapeInterval)
    {
        var flags = ComposeCommand("victoriametrics").Select(flag => flag.Split('=', 2) switch
        {
            ["-storageDataPath", _] => $"-storageDataPath={dataFolder}",
            ["-httpListenAddr", _] => $"-httpListenAddr=127.0.0.1:{port}",
            ["-dedup.minScrapeInterval", _] => $"-dedup.minScrapeInterval={(int)scrapeInterval.TotalSeconds}s",
            _ => ComposeDefault().Replace(flag, "$1"),
        }).ToList();
        Assert.Contains(flags, f => f.StartsWith("-dedup.minScrapeInterval=", StringComparison.Ordinal));
        Assert.Contains(flags, f => f.StartsWith("-retentionPeriod=", StringComparison.Ordinal));
        // VictoriaMetrics hides the newest 30 s from queries by default (samples still on their way from a replica
        // would make a half-written last point); with the test's 1 s scrapes two seconds do the same.
        return [.. flags, $"-search.latencyOffset={(int)(2 * scrapeInterval.TotalSeconds)}s"];
    }

    /// <summary>
    /// The gossip flags of cluster member <paramref name="member"/>: docker-compose.yml's peers (every member, itself
    /// included, which Alertmanager drops) at their loopback gossip ports, its own port to listen on.
    /// </summary>
    public static IReadOnlyList<string> AlertmanagerClusterFlags(IReadOnlyList<int> gossipPorts, int member, TimeSpan peerTimeout)
    {
        var peers = ComposeCommand("alertmanager").Where(f => f.StartsWith("--cluster.peer=", StringComparison.Ordinal)).ToList();
        Assert.Equal(gossipPorts.Count, peers.Count);
        return
        [
            $"--cluster.listen-address=127.0.0.1:{gossipPorts[member]}",
            .. gossipPorts.Select(port => $"--cluster.peer=127.0.0.1:{port}"),
            // How long a member waits, per place in the member list, for the one before it to notify; 15 s by default.
            $"--cluster.peer-timeout={(int)peerTimeout.TotalSeconds}s",
        ];
    }

    /// <summary>The shape's setting of a variable of deploy/compose/SHAPE.env.</summary>
    public static string ShapeSetting(string shape, string name) =>
        File.ReadAllLines(MonitoringConfig.RepositoryFile($"deploy/compose/{shape}.env"))
            .Where(line => line.StartsWith(name + "=", StringComparison.Ordinal))
            .Select(line => line[(name.Length + 1)..]).Single();

    private static int ShippedTargets(string job)
    {
        var groups = new DeserializerBuilder().Build().Deserialize<List<Dictionary<object, object>>>(File.ReadAllText(ShapeFile($"{job}.yml")));
        return groups.Sum(g => List(g, "targets").Count);
    }

    private static List<string> ComposeCommand(string service)
    {
        var compose = Load(MonitoringConfig.RepositoryFile("docker-compose.yml"));
        var definition = (Dictionary<object, object>)((Dictionary<object, object>)compose["services"])[service];
        return List(definition, "command").Cast<string>().ToList();
    }

    private static string ShapeFile(string name) => MonitoringConfig.RepositoryFile($"prometheus/targets/{Shape}/{name}");

    private static List<object> StaticTargets(IEnumerable<string> addresses) =>
        [new Dictionary<object, object> { ["targets"] = addresses.Cast<object>().ToList() }];

    private static Dictionary<object, object> Load(string path) =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(path));

    private static List<object> List(Dictionary<object, object> parent, string key) =>
        parent.TryGetValue(key, out var value) && value is List<object> list ? list : [];

    /// <summary>docker-compose's <c>${NAME:-default}</c>: the default, as a fresh checkout without .env runs it.</summary>
    [GeneratedRegex(@"\$\{[A-Z0-9_]+:-([^}]*)\}")]
    private static partial Regex ComposeDefault();
}
