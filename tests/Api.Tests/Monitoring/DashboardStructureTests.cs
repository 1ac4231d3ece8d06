using System.Text.Json;

namespace Api.Tests.Monitoring;

/// <summary>What Grafana would accept or silently get wrong, checked on the JSON files without a Grafana.</summary>
public sealed class DashboardStructureTests
{
    public static TheoryData<string> Files() => new(Dashboards.Files.Select(Path.GetFileName)!);

    private static JsonElement Load(string file) => Dashboards.Load(MonitoringConfig.RepositoryFile(Path.Combine("grafana/dashboards", file)));

    [Fact]
    public void The_main_dashboard_has_the_seed_panels_settings_and_variables()
    {
        var dashboard = Load(Dashboards.MainDashboard);
        var titles = Dashboards.Panels(dashboard).Select(p => p.GetProperty("title").GetString()).ToList();
        foreach (var title in Dashboards.SeedPanelTitles)
        {
            Assert.Contains(title, titles);
        }

        Assert.Equal("piechart", Dashboards.Panels(dashboard).Single(p => p.GetProperty("title").GetString() == "Status Codes Distribution").GetProperty("type").GetString());
        Assert.Equal("10s", dashboard.GetProperty("refresh").GetString());
        Assert.Equal("now-1h", dashboard.GetProperty("time").GetProperty("from").GetString());
        Assert.Equal("dark", dashboard.GetProperty("style").GetString());
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Equal(["datasource", "job", "instance", "route", "node", "postgres", "redis"], variables);
        foreach (var row in new[] { "Saturation and errors", "Queue health", ".NET runtime", "Host", "PostgreSQL", "Redis" })
        {
            Assert.Contains(Dashboards.Panels(dashboard), p => p.GetProperty("type").GetString() == "row" && p.GetProperty("title").GetString() == row);
        }
    }

    [Fact]
    public void The_seed_panels_come_first()
    {
        var firstEight = Dashboards.Panels(Load(Dashboards.MainDashboard))
            .Where(p => p.GetProperty("type").GetString() != "row")
            .OrderBy(p => p.GetProperty("gridPos").GetProperty("y").GetInt32()).ThenBy(p => p.GetProperty("gridPos").GetProperty("x").GetInt32())
            .Take(Dashboards.SeedPanelTitles.Length).Select(p => p.GetProperty("title").GetString());
        Assert.Equal(Dashboards.SeedPanelTitles.Order(StringComparer.Ordinal), firstEight.Order(StringComparer.Ordinal));
    }

    /// <summary>Where the docs promise an alert's threshold on a panel, it is drawn there, at the value alerts.yml uses.</summary>
    [Theory]
    [InlineData("Error Rate", "HighErrorRate")]
    [InlineData("HTTP Request Duration", "HighLatencyP95")]
    public void Alert_thresholds_are_drawn_on_their_panels(string title, string alert)
    {
        var expr = (string)MonitoringConfig.LoadRules().Single(r => r.TryGetValue("alert", out var name) && (string)name == alert)["expr"];
        var threshold = double.Parse(System.Text.RegularExpressions.Regex.Match(expr, @">\s*([0-9.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        var defaults = Dashboards.Panels(Load(Dashboards.MainDashboard)).Single(p => p.GetProperty("title").GetString() == title)
            .GetProperty("fieldConfig").GetProperty("defaults");
        Assert.NotEqual("off", defaults.GetProperty("custom").GetProperty("thresholdsStyle").GetProperty("mode").GetString());
        var steps = defaults.GetProperty("thresholds").GetProperty("steps").EnumerateArray()
            .Where(step => step.GetProperty("value").ValueKind == JsonValueKind.Number).Select(step => step.GetProperty("value").GetDouble());
        Assert.Contains(threshold, steps);
    }

    [Fact]
    public void The_http_panels_honour_the_route_variable_and_none_counts_every_exception_thrown()
    {
        foreach (var query in Dashboards.Queries().Where(q => q.Dashboard == Dashboards.MainDashboard))
        {
            var names = Dashboards.MetricNames(query.Expr);
            if (names.Any(m => m.StartsWith("http_request", StringComparison.Ordinal)))
            {
                Assert.True(query.Expr.Contains("route=~\"$route\"", StringComparison.Ordinal), $"'{query.PanelTitle}' ignores the route variable: {query.Expr}");
            }

            // The runtime's counter includes every exception caught and handled (a steady stream at idle); the dashboard
            // shows requests that ended in an unhandled one.
            Assert.DoesNotContain("dotnet_exceptions_total", names);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Panel_ids_are_unique_and_panels_do_not_overlap(string file)
    {
        var panels = Dashboards.Panels(Load(file)).ToList();
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());

        var boxes = panels.Select(p => (Title: p.GetProperty("title").GetString(), Box: p.GetProperty("gridPos"))).ToList();
        foreach (var (title, box) in boxes)
        {
            Assert.InRange(Get(box, "x") + Get(box, "w"), 1, 24);
        }

        for (var i = 0; i < boxes.Count; i++)
        {
            for (var j = i + 1; j < boxes.Count; j++)
            {
                Assert.False(Overlap(boxes[i].Box, boxes[j].Box), $"'{boxes[i].Title}' and '{boxes[j].Title}' overlap in {file}");
            }
        }
    }

    /// <summary>
    /// Imported into any Grafana, the dashboard asks for a Prometheus datasource instead of naming one: every panel,
    /// target and query variable reads the <c>datasource</c> variable, and no uid is written anywhere else.
    /// </summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Every_panel_target_and_variable_uses_the_datasource_variable(string file)
    {
        var dashboard = Load(file);
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        var datasource = variables.Single(v => v.GetProperty("name").GetString() == "datasource");
        Assert.Equal("datasource", datasource.GetProperty("type").GetString());
        Assert.Equal("prometheus", datasource.GetProperty("query").GetString());

        foreach (var panel in Dashboards.Panels(dashboard).Where(p => p.GetProperty("type").GetString() != "row"))
        {
            AssertVariable(panel.GetProperty("datasource"), panel);
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                AssertVariable(target.GetProperty("datasource"), panel);
            }
        }

        foreach (var variable in variables.Where(v => v.GetProperty("type").GetString() == "query"))
        {
            AssertVariable(variable.GetProperty("datasource"), variable);
        }

        // Whatever else names a datasource (an annotation, a link) names Grafana's built-in one or the variable.
        var uids = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(MonitoringConfig.RepositoryFile(Path.Combine("grafana/dashboards", file))), "\"uid\":\\s*\"([^\"]*)\"")
            .Select(m => m.Groups[1].Value).Where(uid => uid != Dashboards.DatasourceReference && uid != "-- Grafana --" && uid != dashboard.GetProperty("uid").GetString());
        Assert.Empty(uids);

        static void AssertVariable(JsonElement reference, JsonElement owner)
        {
            Assert.True(reference.GetProperty("uid").GetString() == Dashboards.DatasourceReference && reference.GetProperty("type").GetString() == "prometheus",
                $"'{owner.GetProperty(owner.TryGetProperty("title", out _) ? "title" : "name")}' names datasource {reference}, not {Dashboards.DatasourceReference}");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Rates_use_rate_interval_and_app_panels_honour_the_variables(string file)
    {
        foreach (var query in Dashboards.Queries().Where(q => q.Dashboard == file))
        {
            // An instant query (a table's) summarises the whole time range, as Grafana's $__range is for.
            foreach (var window in System.Text.RegularExpressions.Regex.Matches(query.Expr, @"\b(rate|irate)\([^\[]*\[([^\]]+)\]").Select(m => m.Groups[2].Value))
            {
                Assert.True(window == "$__rate_interval" || (query.Instant && window == "$__range"),
                    $"'{query.PanelTitle}' uses rate over [{window}]: use [$__rate_interval] ([$__range] in an instant query)");
            }

            var names = Dashboards.MetricNames(query.Expr);
            if (names.Any(m => AppMetricPrefixes.Any(prefix => m.StartsWith(prefix, StringComparison.Ordinal))))
            {
                Assert.True(query.Expr.Contains("$job", StringComparison.Ordinal) && query.Expr.Contains("$instance", StringComparison.Ordinal),
                    $"'{query.PanelTitle}' ignores the job/instance variables: {query.Expr}");
            }

            // In a shared Prometheus an exporter's row would otherwise show the whole fleet: every selector of an
            // exporter's metric carries that exporter's instance variable.
            foreach (var (prefix, variable) in ExporterVariables)
            {
                foreach (var selector in System.Text.RegularExpressions.Regex.Matches(query.Expr, $@"\b{prefix}[a-zA-Z0-9_]*(\{{[^}}]*\}})?").Select(m => m.Value))
                {
                    Assert.True(selector.Contains($"instance=~\"${variable}\"", StringComparison.Ordinal),
                        $"'{query.PanelTitle}' selects {selector} without instance=~\"${variable}\": {query.Expr}");
                }
            }
        }
    }

    private static readonly string[] AppMetricPrefixes =
        ["http_", "queue_", "websocket_", "dotnet_", "process_", "aspnetcore_", "kestrel_", "db_client_", "microsoft_entityframeworkcore_"];

    private static readonly (string Prefix, string Variable)[] ExporterVariables = [("node_", "node"), ("pg_", "postgres"), ("redis_", "redis")];

    /// <summary>
    /// Error Rate and Top Endpoints count what the availability SLO counts: not the probes, the scrape or unmatched
    /// routes (a scanner's 404s), so their 5xx share is the one the error budget is spent by.
    /// </summary>
    [Theory]
    [InlineData("Error Rate")]
    [InlineData("Top Endpoints")]
    public void Error_panels_leave_out_what_the_slo_leaves_out(string title)
    {
        var queries = Dashboards.Queries().Where(q => q.Dashboard == Dashboards.MainDashboard && q.PanelTitle == title && !q.IsQuantile).ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            foreach (var selector in System.Text.RegularExpressions.Regex.Matches(query.Expr, @"http_requests_total\{[^}]*\}").Select(m => m.Value))
            {
                Assert.Contains(SloExcludedRoutes, selector, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>The routes the SLO leaves out, as the panels write them.</summary>
    public const string SloExcludedRoutes = "route!~\"/health.*|/metrics|unmatched\"";

    [Fact]
    public void Metric_names_are_read_from_promql()
    {
        Assert.Equal(["http_requests_total"], Dashboards.MetricNames("sum by (method, route) (rate(http_requests_total{status=~\"5..\", job=~\"$job\"}[$__rate_interval])) or vector(0)"));
        Assert.Equal(["a_bucket", "job:b:rate5m"], Dashboards.MetricNames("histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m]))) > on (job) group_left job:b:rate5m").Order(StringComparer.Ordinal));
    }

    private static int Get(JsonElement box, string name) => box.GetProperty(name).GetInt32();

    private static bool Overlap(JsonElement a, JsonElement b) =>
        Get(a, "x") < Get(b, "x") + Get(b, "w") && Get(b, "x") < Get(a, "x") + Get(a, "w") &&
        Get(a, "y") < Get(b, "y") + Get(b, "h") && Get(b, "y") < Get(a, "y") + Get(a, "h");
}
