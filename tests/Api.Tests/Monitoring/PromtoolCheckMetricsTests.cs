namespace Api.Tests.Monitoring;

/// <summary>
/// <c>promtool check metrics</c> on what the app really serves: no error, and no lint warning but the ones
/// MONITORING.md explains (names the runtime's and OpenTelemetry's conventions fix, and the original guide's gauge
/// named like a counter).
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class PromtoolCheckMetricsTests(DefaultApp app) : IClassFixture<DefaultApp>
{
    /// <summary>(metric name prefix or exact name, the problem promtool reports) that are known and documented.</summary>
    private static readonly (string Metric, string Problem)[] Explained =
    [
        // OpenTelemetry semantic-convention names (dotnet.assembly.count, process.thread.count, Npgsql's
        // db.client.connection.count, ...): gauges ending in _count.
        ("dotnet_assembly_count", "should not have \"_count\" suffix"),
        ("dotnet_process_cpu_count", "should not have \"_count\" suffix"),
        ("dotnet_timer_count", "should not have \"_count\" suffix"),
        ("process_thread_count", "should not have \"_count\" suffix"),
        ("process_unix_file_descriptor_count", "should not have \"_count\" suffix"),
        ("db_client_connection_count", "should not have \"_count\" suffix"),
        // EF Core's meter gives its instruments no description.
        ("microsoft_entityframeworkcore_", "no help text"),
        // The original guide's name for a gauge: kept because its dashboards query it.
        ("websocket_connections_total", "should not have \"_total\" suffix"),
    ];

    [Fact]
    public async Task The_live_scrape_passes_promtool_but_for_explained_warnings()
    {
        using var client = app.CreateClient();
        await client.GetAsync("/");
        await client.GetAsync("/no-such-page");
        var text = await (await client.GetAsync("/metrics")).Content.ReadAsStringAsync();
        var file = Path.Combine(app.Folder, "scrape.txt");
        await File.WriteAllTextAsync(file, text);

        var promtool = Binaries.Find("promtool", "prometheus", "/usr/bin/promtool");
        // Exit 0 is clean, 3 is lint warnings only, anything else (1: unparsable) is an error.
        await using var process = NativeProcess.Start("sh", ["-c", $"\"{promtool}\" check metrics < \"{file}\"; echo \"exit=$?\""]);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => process.Output.Contains("exit=", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "promtool's output");
        var output = process.Output;
        Assert.Matches("exit=(0|3)", output);

        var warnings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith("exit=", StringComparison.Ordinal)).ToList();
        var unexplained = warnings.Where(w => !Explained.Any(e => w.StartsWith(e.Metric, StringComparison.Ordinal) && w.Contains(e.Problem, StringComparison.Ordinal))).ToList();
        Assert.True(unexplained.Count == 0, "promtool check metrics:\n" + string.Join("\n", unexplained));
        Assert.Contains(text.Split('\n'), line => line.StartsWith("http_requests_total{", StringComparison.Ordinal));
    }
}
