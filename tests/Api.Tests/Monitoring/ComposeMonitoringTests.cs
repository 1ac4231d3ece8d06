using YamlDotNet.Serialization;

namespace Api.Tests.Monitoring;

/// <summary>What docker-compose.yml gives the monitoring that the tests' native processes get another way.</summary>
public sealed class ComposeMonitoringTests
{
    /// <summary>
    /// The Host panels read the host, not a container: in its own network namespace node-exporter reports the
    /// container's eth0 as the host's network, so compose runs it in the host's namespaces (node-exporter's documented
    /// way) and Prometheus reaches it through host-gateway on the port it listens on.
    /// </summary>
    [Fact]
    public void Node_exporter_runs_in_the_hosts_namespaces_and_every_compose_shape_scrapes_it_through_host_gateway()
    {
        var services = HaShapeTests.LoadServices();
        var exporter = (Dictionary<object, object>)services["node-exporter"];
        Assert.Equal("host", exporter["network_mode"]);
        Assert.Equal("host", exporter["pid"]);
        Assert.False(exporter.ContainsKey("ports"), "host networking publishes no ports");
        var command = ((List<object>)exporter["command"]).Cast<string>().ToList();
        Assert.Contains("--path.rootfs=/host", command);
        Assert.Contains("/:/host:ro,rslave", ((List<object>)exporter["volumes"]).Cast<string>());
        var listen = command.Single(f => f.StartsWith("--web.listen-address=", StringComparison.Ordinal));
        var port = listen[(listen.LastIndexOf(':') + 1)..];

        foreach (var shape in new[] { "compose", "ha" })
        {
            var groups = new DeserializerBuilder().Build().Deserialize<List<Dictionary<object, object>>>(
                File.ReadAllText(MonitoringConfig.RepositoryFile($"prometheus/targets/{shape}/node.yml")));
            Assert.Equal([$"host.docker.internal:{port}"], groups.SelectMany(g => ((List<object>)g["targets"]).Cast<string>()));
        }

        foreach (var prometheus in new[] { "prometheus", "prometheus-2" })
        {
            var hosts = ((List<object>)((Dictionary<object, object>)services[prometheus])["extra_hosts"]).Cast<string>();
            Assert.Contains("host.docker.internal:host-gateway", hosts);
        }
    }

    /// <summary>The environment label is the deployment's (ENVIRONMENT), production unless .env says otherwise.</summary>
    [Fact]
    public void Every_Prometheus_expands_ENVIRONMENT_into_its_environment_label_with_production_as_the_default()
    {
        var prometheusYml = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(
            File.ReadAllText(MonitoringConfig.RepositoryFile("prometheus/prometheus.yml")));
        var labels = (Dictionary<object, object>)((Dictionary<object, object>)prometheusYml["global"])["external_labels"];
        Assert.Equal("${ENVIRONMENT}", labels["environment"]);

        var services = HaShapeTests.LoadServices();
        foreach (var prometheus in new[] { "prometheus", "prometheus-2" })
        {
            var service = (Dictionary<object, object>)services[prometheus];
            Assert.Contains("--enable-feature=expand-external-labels", ((List<object>)service["command"]).Cast<string>());
            Assert.Equal("${ENVIRONMENT:-production}", ((Dictionary<object, object>)service["environment"])["ENVIRONMENT"]);
        }
    }
}
