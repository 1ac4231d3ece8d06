using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Api.Tests.Monitoring;

/// <summary>
/// The ha shape's files agree with the rest without a server: the second members are the first ones' copies, the
/// shape differs from compose only in its pairs, and VictoriaMetrics' deduplication follows the app's scrape interval.
/// </summary>
public sealed class HaShapeTests
{
    private static readonly Dictionary<object, object> Services = LoadServices();

    [Theory]
    [InlineData("prometheus", "prometheus-2")]
    [InlineData("alertmanager", "alertmanager-2")]
    public void The_second_member_runs_as_the_first_with_its_own_disk_and_port(string first, string second)
    {
        var one = Service(first);
        var two = Service(second);
        foreach (var key in new[] { "image", "entrypoint", "command", "environment", "env_file" })
        {
            Assert.Equal(Yaml(one.GetValueOrDefault(key)), Yaml(two.GetValueOrDefault(key)));
        }

        Assert.Equal(["ha"], ((List<object>)two["profiles"]).Cast<string>());
        Assert.NotEqual(Yaml(one["ports"]), Yaml(two["ports"]));
        var volumes = (List<object>)one["volumes"];
        var secondVolumes = (List<object>)two["volumes"];
        Assert.Equal(volumes.Count, secondVolumes.Count);
        Assert.Equal(volumes.SkipLast(1).Select(Yaml), secondVolumes.SkipLast(1).Select(Yaml));   // the same files
        Assert.NotEqual(Yaml(volumes[^1]), Yaml(secondVolumes[^1]));                            // its own data
    }

    [Fact]
    public void The_ha_target_set_is_compose_plus_the_second_members()
    {
        var ha = TargetSet(HaConfig.Shape);
        var compose = TargetSet("compose");
        Assert.Equal(compose.Keys.Order(StringComparer.Ordinal), ha.Keys.Order(StringComparer.Ordinal));
        foreach (var (job, targets) in compose)
        {
            var expected = job switch
            {
                "prometheus" => ["prometheus:9090", "prometheus-2:9090"],
                "alertmanager" => [.. targets, "alertmanager-2:9093"],
                _ => targets,
            };
            Assert.Equal(expected, ha[job]);
        }
    }

    [Fact]
    public void Each_shape_sets_the_same_variables_and_only_ha_clusters_and_reads_VictoriaMetrics()
    {
        foreach (var shape in new[] { "compose", "host" })
        {
            Assert.Equal("", HaConfig.ShapeSetting(shape, "ALERTMANAGER_CLUSTER_ADDRESS"));
            Assert.Equal("http://prometheus:9090", HaConfig.ShapeSetting(shape, "METRICS_DATASOURCE_URL"));
        }

        Assert.Equal("0.0.0.0:9094", HaConfig.ShapeSetting(HaConfig.Shape, "ALERTMANAGER_CLUSTER_ADDRESS"));
        Assert.All(((List<object>)Service("alertmanager")["command"]).Cast<string>().Where(f => f.StartsWith("--cluster.peer=", StringComparison.Ordinal)),
            peer => Assert.EndsWith(":9094", peer, StringComparison.Ordinal));
        var listen = ((List<object>)Service("victoriametrics")["command"]).Cast<string>().Single(f => f.StartsWith("-httpListenAddr=", StringComparison.Ordinal));
        Assert.Equal($"http://victoriametrics{listen["-httpListenAddr=".Length..]}", HaConfig.ShapeSetting(HaConfig.Shape, "METRICS_DATASOURCE_URL"));
        Assert.Equal("prometheus", ProvisionedDefaultDatasourceUid());
    }

    [Fact]
    public void VictoriaMetrics_deduplicates_at_the_api_jobs_scrape_interval()
    {
        var prometheus = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(
            File.ReadAllText(MonitoringConfig.RepositoryFile("prometheus/prometheus.yml")));
        var api = ((List<object>)prometheus["scrape_configs"]).Cast<Dictionary<object, object>>().Single(j => (string)j["job_name"] == "api");
        var dedup = ((List<object>)Service("victoriametrics")["command"]).Cast<string>().Single(f => f.StartsWith("-dedup.minScrapeInterval=", StringComparison.Ordinal));
        Assert.Equal($"-dedup.minScrapeInterval={api["scrape_interval"]}", dedup);
    }

    /// <summary>The <c>uid</c> of the default datasource grafana/provisioning/datasources/datasource.yml provisions.</summary>
    private static string ProvisionedDefaultDatasourceUid()
    {
        var config = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(
            File.ReadAllText(MonitoringConfig.RepositoryFile("grafana/provisioning/datasources/datasource.yml")));
        var defaults = ((List<object>)config["datasources"]).Cast<Dictionary<object, object>>()
            .Where(d => d.TryGetValue("isDefault", out var isDefault) && (string)isDefault == "true").ToList();
        Assert.Single(defaults);
        return (string)defaults[0]["uid"];
    }

    private static Dictionary<string, List<string>> TargetSet(string shape) =>
        Directory.GetFiles(MonitoringConfig.RepositoryFile($"prometheus/targets/{shape}"), "*.yml")
            .Where(file => Path.GetFileName(file) != "remote-write.yml")
            .ToDictionary(
                file => Path.GetFileNameWithoutExtension(file),
                file => (new DeserializerBuilder().Build().Deserialize<List<Dictionary<object, object>>?>(File.ReadAllText(file)) ?? [])
                    .SelectMany(group => ((List<object>)group["targets"]).Cast<string>()).ToList());

    private static Dictionary<object, object> Service(string name) => (Dictionary<object, object>)Services[name];

    /// <summary>docker-compose.yml with its anchors merged (<c>&lt;&lt;: *prometheus</c>), as docker-compose reads it.</summary>
    internal static Dictionary<object, object> LoadServices()
    {
        using var reader = new StringReader(File.ReadAllText(MonitoringConfig.RepositoryFile("docker-compose.yml")));
        var compose = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
        return (Dictionary<object, object>)compose["services"];
    }

    private static string Yaml(object? value) => new SerializerBuilder().Build().Serialize(value ?? "");
}
