using System.Net.Sockets;
using System.Text.Json;

namespace Api.Tests.Monitoring;

/// <summary>
/// tools/run-monitoring.sh as README tells a developer to run it: beside an API on the host, it starts Prometheus and
/// Alertmanager from the shipped files, Prometheus scrapes the API (with its key) and finds Alertmanager, and a
/// SIGTERM (what Ctrl+C's process group gets as SIGINT) stops both and leaves no folder behind.
/// </summary>
public sealed class RunMonitoringScriptTests
{
    [Fact]
    public async Task Starts_the_shipped_monitoring_against_the_host_api_and_stops_what_it_started()
    {
        Binaries.Find("prometheus", "prometheus");
        Binaries.Find("prometheus-alertmanager", "prometheus-alertmanager");
        const string key = "run-monitoring-key";
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["Metrics:ApiKey"] = key,
        }, name: "run-monitoring");
        int prometheusPort = FreePort.Next(), alertmanagerPort = FreePort.Next();
        await using var script = NativeProcess.Start("bash", [MonitoringConfig.RepositoryFile("tools/run-monitoring.sh")],
            MonitoringConfig.RepositoryRoot, new Dictionary<string, string?>
            {
                ["API_TARGET"] = $"127.0.0.1:{app.BaseAddress.Port}",
                ["METRICS_API_KEY"] = key,
                ["PROMETHEUS_PORT"] = prometheusPort.ToString(),
                ["ALERTMANAGER_PORT"] = alertmanagerPort.ToString(),
            });

        using var http = new HttpClient { BaseAddress = new Uri($"http://localhost:{prometheusPort}"), Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.HoldsAsync(async () => await UpAsync(http, "api") && await UpAsync(http, "alertmanager"),
            TimeSpan.FromSeconds(60), "Prometheus from run-monitoring.sh to scrape the API and its Alertmanager (up == 1)",
            () => script.Output);
        var managers = await http.GetFromJsonAsync<JsonElement>("/api/v1/alertmanagers");
        Assert.Contains($"localhost:{alertmanagerPort}", managers.GetRawText());
        var work = System.Text.RegularExpressions.Regex.Match(script.Output, @"Logs in (\S+)/\*\.log").Groups[1].Value;
        Assert.True(Directory.Exists(work), $"run-monitoring.sh names no working folder:\n{script.Output}");

        Signals.Terminate(script.Id);
        await script.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.False(Listens(prometheusPort), "Prometheus still listens after the script stopped");
        Assert.False(Listens(alertmanagerPort), "Alertmanager still listens after the script stopped");
        Assert.False(Directory.Exists(work), $"run-monitoring.sh left {work} behind");
    }

    private static async Task<bool> UpAsync(HttpClient http, string job)
    {
        var answer = await http.GetFromJsonAsync<JsonElement>($"/api/v1/query?query=up{{job=\"{job}\"}}");
        var result = answer.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 1 && result[0].GetProperty("value")[1].GetString() == "1";
    }

    private static bool Listens(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
