using System.Net.Http.Headers;
using Api.Configuration;
using Api.Observability;
using Api.Queue;
using Api.ScaleOut;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static Api.Tests.Deploy.KubernetesManifests;

namespace Api.Tests.Deploy;

/// <summary>
/// deploy/kubernetes/ against the app it deploys: the probes, ports, scrape path and key, and the grace period are
/// read from each rendered overlay and checked against the app's own options (bound from the overlay's ConfigMap as the
/// app binds them) and against the app itself, started with those settings. A copy of a number would agree with the
/// manifest and miss the day the app changes.
/// </summary>
[Collection(InProcessApp.Name)]
public class KubernetesManifestTests
{
    public static TheoryData<string> Overlays => new() { "dev", "production" };

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Ports_and_scrape_settings_are_the_ones_the_app_reads(string overlay)
    {
        var manifests = await RenderAsync(overlay);
        var settings = manifests.ConfigMapSettings();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var metrics = configuration.ReadValidatedOptions<MetricsOptions>(MetricsOptions.Section);

        // The listener the app opens (Urls) is the container port the probes and the Service name "http".
        var urls = configuration[WebHostDefaults.ServerUrlsKey] ?? throw new InvalidOperationException("The ConfigMap sets no Urls.");
        Assert.Equal(new Uri(urls.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port, manifests.ContainerPort("http"));
        // The metrics listener is the container port "metrics", on every interface so Prometheus in another pod reaches it.
        Assert.Equal(metrics.Port, manifests.ContainerPort("metrics"));
        Assert.Contains(metrics.Host, new[] { "0.0.0.0", "*", "[::]" });

        // The ServiceMonitor scrapes the app's path on the metrics Service, whose port leads to the metrics container port.
        var monitor = manifests.Only("ServiceMonitor");
        var endpoint = (Dictionary<object, object>)List(Map(monitor, "spec"), "endpoints").Single();
        Assert.Equal(metrics.Path, (string)endpoint["path"]);
        var metricsService = manifests.Named("Service", "api-metrics");
        var servicePort = List(Map(metricsService, "spec"), "ports").Cast<Dictionary<object, object>>().Single(p => (string)p["name"] == (string)endpoint["port"]);
        Assert.Equal(metrics.Port, manifests.ContainerPort(servicePort["targetPort"]));
        // The public Service leads to no port but the API's.
        Assert.All(List(Map(manifests.Named("Service", "api"), "spec"), "ports").Cast<Dictionary<object, object>>(),
            port => Assert.NotEqual(metrics.Port, manifests.ContainerPort(port["targetPort"])));

        // The key the app checks (Metrics:ApiKey, from the Secret) is the key the ServiceMonitor sends.
        var keyVariable = $"{MetricsOptions.Section}__{nameof(MetricsOptions.ApiKey)}";
        var env = List(manifests.Container, "env").Cast<Dictionary<object, object>>().Single(e => (string)e["name"] == keyVariable);
        var secretRef = Map(Map(env, "valueFrom"), "secretKeyRef");
        var credentials = Map(Map(endpoint, "authorization"), "credentials");
        Assert.Equal("Bearer", (string)Map(endpoint, "authorization")["type"]);
        Assert.Equal((string)secretRef["name"], (string)credentials["name"]);
        Assert.Equal((string)secretRef["key"], (string)credentials["key"]);
        Assert.False(settings.ContainsKey($"{MetricsOptions.Section}:{nameof(MetricsOptions.ApiKey)}"), "The scrape key must come from a Secret, not the ConfigMap.");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_probes_and_the_scrape_answer_on_the_app_started_with_the_overlays_settings(string overlay)
    {
        var manifests = await RenderAsync(overlay);
        // The ConfigMap's settings, but loopback listeners on free ports (the port numbers are checked above).
        var metricsPort = FreePort.Next();
        const string key = "probe-test-key";
        var settings = manifests.ConfigMapSettings()
            .Where(s => !s.Key.Equals(WebHostDefaults.ServerUrlsKey, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(s => s.Key, s => s.Value);
        settings["Metrics:Port"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Metrics:Host"] = "127.0.0.1";
        settings["Metrics:ApiKey"] = key;
        settings.Remove("ConnectionStrings:Sqlite"); // the temporary app's own file, not the volume's
        await using var app = await TempApp.StartAsync(settings, name: "k8s-probes");
        using var http = new HttpClient { BaseAddress = app.BaseAddress };

        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            var get = Map(Map(manifests.Container, probe), "httpGet");
            Assert.Equal("http", (string)get["port"]);
            // As the kubelet does, asked again until it answers: readiness holds 503 until the host has started.
            var status = 0;
            await Eventually.HoldsAsync(async () => (status = (int)(await http.GetAsync((string)get["path"])).StatusCode) == 200,
                TimeSpan.FromSeconds(30), $"{overlay}: {probe} {get["path"]} to answer 200", () => $"last answer {status}");
        }

        var endpoint = (Dictionary<object, object>)List(Map(manifests.Only("ServiceMonitor"), "spec"), "endpoints").Single();
        var scrape = new Uri($"http://127.0.0.1:{metricsPort}{endpoint["path"]}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(scrape)).StatusCode);
        using var withKey = new HttpRequestMessage(HttpMethod.Get, scrape);
        withKey.Headers.Authorization = new AuthenticationHeaderValue((string)Map(endpoint, "authorization")["type"], key);
        var scraped = await http.SendAsync(withKey);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("http_requests_total", await scraped.Content.ReadAsStringAsync());
        // Not on the API's port, which the public Service exposes.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync((string)endpoint["path"])).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_grace_period_outlasts_the_apps_own_shutdown(string overlay)
    {
        var manifests = await RenderAsync(overlay);
        var settings = manifests.ConfigMapSettings()
            .Where(s => !s.Key.Equals(WebHostDefaults.ServerUrlsKey, StringComparison.OrdinalIgnoreCase) && !s.Key.StartsWith("Metrics:", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(s => s.Key, s => s.Value);
        await using var factory = new ApiFactory(settings);
        var host = factory.Services.GetRequiredService<IOptions<HostOptions>>().Value;
        var queue = factory.Services.GetRequiredService<IOptions<QueueOptions>>().Value;
        var health = factory.Services.GetRequiredService<IOptions<HealthOptions>>().Value;

        var container = manifests.Container;
        var preStop = List(Map(Map(Map(container, "lifecycle"), "preStop"), "exec"), "command").Cast<string>().ToList();
        Assert.Equal("sleep", preStop[0]);
        var preStopSeconds = int.Parse(preStop[1]);
        var drainSeconds = new ConfigurationBuilder().AddInMemoryCollection(settings).Build()
            .ReadValidatedOptions<ShutdownOptions>(ShutdownOptions.Section).DrainSeconds;
        var needed = preStopSeconds + drainSeconds + host.ShutdownTimeout.TotalSeconds + queue.ShutdownTimeoutSeconds;
        var grace = int.Parse((string)manifests.PodSpec["terminationGracePeriodSeconds"]);
        Assert.True(grace > needed,
            $"{overlay}: terminationGracePeriodSeconds {grace} must exceed preStop {preStopSeconds} + Shutdown:DrainSeconds {drainSeconds} + HostOptions.ShutdownTimeout " +
            $"{host.ShutdownTimeout.TotalSeconds} + Queue:ShutdownTimeoutSeconds {queue.ShutdownTimeoutSeconds} = {needed} s");

        // A readiness probe that gives up before the app's slowest readiness answer would fail pods whose dependency is merely slow.
        var readinessTimeout = int.Parse((string)Map(container, "readinessProbe")["timeoutSeconds"]);
        Assert.True(readinessTimeout * 1000 > health.CheckTimeoutMilliseconds,
            $"{overlay}: readinessProbe.timeoutSeconds {readinessTimeout} must exceed Health:CheckTimeoutMilliseconds {health.CheckTimeoutMilliseconds}");
    }
}
