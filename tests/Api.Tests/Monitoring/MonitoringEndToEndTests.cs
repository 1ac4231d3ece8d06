namespace Api.Tests.Monitoring;

/// <summary>
/// The shipped prometheus.yml, alerts.yml, alertmanager.yml and dashboards against the running app and exporters:
/// every target is scraped, every rule evaluates, every panel query answers with data, every metric they name exists,
/// and an induced fault travels as an alert from Prometheus through Alertmanager to an email.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed partial class MonitoringEndToEndTests(MonitoringStack stack) : IClassFixture<MonitoringStack>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Every_job_of_prometheus_yml_is_scraped_and_up()
    {
        // Prometheus' first scrape lands some seconds after start whatever the interval: poll.
        await Eventually.HoldsAsync(async () =>
        {
            var targets = await stack.Prometheus.TargetsAsync();
            return targets.Count == 6 && targets.All(t => t.Health == "up");
        }, Patience, "all six targets up", () => string.Join("\n", stack.Prometheus.TargetsAsync().Result) + "\n" + stack.Diagnostics());

        var jobs = (await stack.Prometheus.TargetsAsync()).Select(t => t.Job).Order(StringComparer.Ordinal);
        Assert.Equal(["alertmanager", "api", "node", "postgres", "prometheus", "redis"], jobs);
    }

    /// <summary>
    /// <c>$route</c> as the tests set it, and whether a request to it ever ended in an unhandled exception (a 500; the
    /// Unhandled Exceptions panel may be empty where none did): All; GET /, which every service keeps;
    /// the route that saw every kind of answer (201, 400, 500, 503); and one whose template holds regex characters, so
    /// that Grafana's escaping of it is exercised.
    /// </summary>
    private static readonly (string? Route, bool Saw500)[] Routes =
    [
        (null, true),
        ("/", true),
//#if (users)
        ("/api/users", true),
        ("/api/users/{id:guid}", false),
//#endif
    ];

    [Fact]
    public async Task Under_traffic_every_panel_query_answers_with_data_and_none_with_NaN()
    {
        using var stop = new CancellationTokenSource();
        var traffic = SteadyTrafficUntilAsync(stop.Token);
        try
        {
            var queries = Dashboards.Queries().ToList();
            Assert.NotEmpty(queries);
            foreach (var (route, saw500) in Routes)
            {
                foreach (var query in queries)
                {
                    var mayBeEmpty = !saw500 && query.Expr.Contains("status=\"500\"", StringComparison.Ordinal);
                    await AssertAnswersAsync(query, Dashboards.Substitute(query.Expr, MonitoringConfig.Interval, route), needsData: !mayBeEmpty);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }
    }

    [Fact]
    public async Task At_idle_no_panel_shows_NaN_ratios_show_0_and_latency_quantiles_show_nothing()
    {
        // Idle: every series exists but no request falls in the panels' rate window, so a rate is 0 and an unguarded
        // ratio of two rates is 0/0, NaN. (Tests of one class run one at a time: nothing else sends requests now.)
        // Quiet for two scrapes longer than the window, so that no request still waits for its scrape.
        var quiet = $"{(int)(6 * MonitoringConfig.Interval.TotalSeconds)}s";
        await AssertEventuallyAsync($"sum(increase(http_requests_total[{quiet}]))", v => v == 0);

        foreach (var query in Dashboards.Queries())
        {
            var promql = Dashboards.Substitute(query.Expr, MonitoringConfig.Interval);
            var result = await QueryOrFailAsync(query, promql);
            var where = $"panel '{query.PanelTitle}' ({query.Dashboard} #{query.PanelId} {query.RefId}) at idle: {promql}";
            Assert.False(HasNaN(result), $"NaN from {where}");
            if (!query.IsQuantile)
            {
                Assert.True(result.Count > 0, $"No data from {where}");
            }
            else if (!query.Instant)
            {
                // A quantile of no requests is a gap in the graph, never a made-up 0.
                Assert.True(result.Count == 0, $"A value from {where}: {string.Join(", ", result)}");
            }
        }

        // The recorded ratios' windows (1h to 3d) cannot go quiet within a test: make them NaN, as a quiet window does.
        var onRecordedRatios = Dashboards.Queries().Where(q => RecordedRatio().IsMatch(q.Expr)).ToList();
        Assert.NotEmpty(onRecordedRatios);
        foreach (var query in onRecordedRatios)
        {
            var promql = RecordedRatio().Replace(Dashboards.Substitute(query.Expr, MonitoringConfig.Interval), ratio => $"({ratio.Value} * 0 / 0)");
            var result = await QueryOrFailAsync(query, promql);
            Assert.True(result.Count > 0 && !HasNaN(result), $"Panel '{query.PanelTitle}' {query.RefId} on a NaN ratio answers [{string.Join(", ", result)}]: {promql}");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\b[a-z_]+:[a-z0-9_]+:ratio_[a-z0-9_]+(\{[^}]*\})?")]
    private static partial System.Text.RegularExpressions.Regex RecordedRatio();

    [Fact]
    public async Task Prometheus_stores_what_the_app_exposes_without_created_series_or_a_process_metric_twice()
    {
        // What the scrapes stored: not the rules' output, which carries job="api" too.
        var stored = (await stack.Prometheus.QueryAsync("count by (__name__) ({job=\"api\", __name__!~\".*:.*|ALERTS.*\"})"))
            .Select(series => series.GetProperty("metric").GetProperty("__name__").GetString()!).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("http_requests_total", stored);
        var created = stored.Where(name => name.EndsWith("_created", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.True(created.Count == 0, $"{created.Count} *_created series stored: {string.Join(", ", created)}");
        // Yet the scrape is still OpenMetrics (exemplars need it): its *_created samples arrive, and relabeling drops them.
        await AssertEventuallyAsync("sum(scrape_samples_scraped{job=\"api\"}) - sum(scrape_samples_post_metric_relabeling{job=\"api\"})", v => v > 0);

        // Every stored name is one the app's text format (0.0.4, which has no *_created) exposes, or the scrape's own.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new("Bearer", MonitoringStack.ApiKey);
        request.Headers.Accept.ParseAdd("text/plain; version=0.0.4");
        using var response = await stack.Client.SendAsync(request);
        var exposed = MetricsScrape.Parse(await response.Content.ReadAsStringAsync()).Samples.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var unexpected = stored.Where(name => !exposed.Contains(name) && name != "up" && !name.StartsWith("scrape_", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, "Stored but not in the app's text exposition: " + string.Join(", ", unexpected));

        // One source for each process measurement: the process instrumentation's, which the dashboard reads.
        var twice = stored.Where(name => name.StartsWith("dotnet_", StringComparison.Ordinal) && stored.Contains(name["dotnet_".Length..])).ToList();
        Assert.True(twice.Count == 0, "Stored from both the runtime meter and the process instrumentation: " + string.Join(", ", twice));
        Assert.Contains("process_cpu_time_seconds_total", stored);
        Assert.Contains("process_memory_usage_bytes", stored);
        Assert.DoesNotContain("dotnet_process_memory_working_set_bytes", stored);
    }

    /// <summary>
    /// What the saturation alerts and panels read, under the names the exporter gives them: the connection pool (named
    /// "app", not by its connection string), in-flight requests, the rate limiter. Hosting's own request histogram and
    /// the per-command and per-lease histograms stay out: they would repeat http_request_duration_seconds at a cost.
    /// </summary>
    [Fact]
    public async Task The_pool_in_flight_and_rate_limiter_meters_are_stored_without_a_second_request_histogram()
    {
        await AssertEventuallyAsync("count(db_client_connection_count{job=\"api\", db_client_connection_pool_name=\"app\", db_client_connection_state=~\"idle|used\"})", v => v == 2);
        await AssertEventuallyAsync("sum(db_client_connection_max{job=\"api\", db_client_connection_pool_name=\"app\"})", v => v > 0);
        await AssertEventuallyAsync("count(http_server_active_requests{job=\"api\"})", v => v >= 1);
//#if (users)
        await AssertEventuallyAsync("sum(aspnetcore_rate_limiting_requests_total{job=\"api\", aspnetcore_rate_limiting_policy=\"sign-up\", aspnetcore_rate_limiting_result=\"acquired\"})", v => v >= 5);
//#endif
        await AssertEventuallyAsync("sum(aspnetcore_rate_limiting_requests_total{job=\"api\", aspnetcore_rate_limiting_policy=\"sign-in\", aspnetcore_rate_limiting_result=\"acquired\"})", v => v >= 1);
        var stored = await stack.Prometheus.MetricNamesAsync();
        foreach (var histogram in new[] { "http_server_request_duration_seconds_bucket", "db_client_operation_duration_seconds_bucket", "aspnetcore_rate_limiting_request_lease_duration_seconds_bucket" })
        {
            Assert.DoesNotContain(histogram, stored);
        }
    }

    [Fact]
    public async Task The_seed_panels_show_the_traffic_that_happened()
    {
        // The seed's jobs; where the service has them, 5 users created (each a welcome email through the queue) and 3
        // WebSocket clients connected. (Raw counter values: a series first scraped after its requests shows them in its
        // value, not in increase().)
//#if (users)
        await AssertEventuallyAsync("sum(http_requests_total{route=\"/api/users\", method=\"POST\", status=\"201\"})", v => v >= 5);
//#endif
        await AssertEventuallyAsync("sum(queue_jobs_completed_total{queue=\"default\"})", v => v >= MonitoringStack.SeedJobs);
//#if (realtime)
        await AssertEventuallyAsync("sum(websocket_connections_total)", v => v == 3);
//#endif
//#if (sendsEmail)
        await AssertEventuallyAsync("sum(queue_jobs_completed_total{queue=\"email\"})", v => v >= 5);
//#endif
        await AssertEventuallyAsync("sum(http_requests_total{route=\"unmatched\"})", v => v >= 1);
        await AssertEventuallyAsync("sum(http_requests_total{method=\"_OTHER\"})", v => v >= 1);
        await AssertEventuallyAsync("sum(http_requests_total{status=~\"5..\"})", v => v >= 1);
        // The exception nothing handled: a 500 on its route, what the Unhandled Exceptions panel shows.
        await AssertEventuallyAsync("sum(http_requests_total{route=\"/\", status=\"500\"})", v => v >= 1);
//#if (users)
        await AssertEventuallyAsync("sum(http_requests_total{route=\"/api/users\", status=\"500\"})", v => v == 1);
//#endif
        // The scrapes themselves are never counted.
        Assert.Empty(await stack.Prometheus.QueryAsync("http_requests_total{route=~\".*metrics.*\"}"));
    }

    [Fact]
    public async Task Every_metric_named_by_a_panel_a_variable_or_a_rule_is_exposed()
    {
        var rules = MonitoringConfig.LoadRules();
        var recorded = rules.Where(r => r.ContainsKey("record")).Select(r => (string)r["record"]).ToHashSet(StringComparer.Ordinal);
        var named = new List<(string Where, string Metric)>();
        named.AddRange(Dashboards.Queries().SelectMany(q => Dashboards.MetricNames(q.Expr).Select(m => ($"panel '{q.PanelTitle}'", m))));
        named.AddRange(Dashboards.Files.SelectMany(file => Dashboards.Load(file).GetProperty("templating").GetProperty("list").EnumerateArray())
            .Where(v => v.GetProperty("type").GetString() == "query")
            .Select(v => v.GetProperty("definition").GetString()!)
            .Select(definition => ($"variable {definition}", definition["label_values(".Length..definition.IndexOfAny(['{', ','])].Trim())));
        named.AddRange(rules.SelectMany(r => Dashboards.MetricNames((string)r["expr"])
            .Select(m => ($"rule {(r.TryGetValue("alert", out var a) ? a : r["record"])}", m))));
        Assert.Contains(named, n => n.Metric == "http_requests_total");

        // Wait for the series that appear last (the queue's, after the jobs ran) before reading the names.
        IReadOnlySet<string> exposed = new HashSet<string>();
        var wanted = named.Select(n => n.Metric).Where(m => !recorded.Contains(m)).ToHashSet(StringComparer.Ordinal);
        await Eventually.HoldsAsync(async () =>
        {
            exposed = await stack.Prometheus.MetricNamesAsync();
            return wanted.All(exposed.Contains);
        }, Patience, "every named metric to be scraped", () => string.Join(", ", wanted.Where(m => !exposed.Contains(m))));

        var unknown = named.Where(n => !recorded.Contains(n.Metric) && !exposed.Contains(n.Metric)).Distinct().ToList();
        Assert.True(unknown.Count == 0, "Named but exposed by nothing: " + string.Join("; ", unknown));
    }

    [Fact]
    public async Task Every_rule_of_alerts_yml_is_loaded_and_evaluates_without_error()
    {
        var expected = MonitoringConfig.LoadRules().Select(r => (string)(r.TryGetValue("alert", out var a) ? a : r["record"])).Order(StringComparer.Ordinal).ToList();
        await Eventually.HoldsAsync(async () =>
        {
            var rules = await stack.Prometheus.RulesAsync();
            return rules.Count == expected.Count && rules.All(r => r.Health == "ok");
        }, Patience, "every rule evaluated and healthy", () => string.Join("\n", stack.Prometheus.RulesAsync().Result));

        Assert.Equal(expected, (await stack.Prometheus.RulesAsync()).Select(r => r.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Server_errors_page_once_through_ErrorBudgetBurnFast_which_reaches_the_oncall_inbox()
    {
        // A new 5xx series needs a rise between two scrapes to show in rate(): keep failing until the page arrives.
        using var failing = new CancellationTokenSource();
        var load = FailRequestsUntilAsync(failing.Token);
        try
        {
            await Eventually.HoldsAsync(async () => (await stack.Prometheus.AlertsAsync()) is var alerts &&
                    alerts.Any(a => a.Name == "ErrorBudgetBurnFast" && a.State == "firing") && alerts.Any(a => a.Name == "HighErrorRate" && a.State == "firing"),
                Patience, "ErrorBudgetBurnFast and HighErrorRate firing in Prometheus", stack.Diagnostics);
            await Eventually.HoldsAsync(() => stack.Mail.Received.Any(m => AlertMail.Is(m, "ErrorBudgetBurnFast", "firing")),
                Patience, "ErrorBudgetBurnFast in the inbox", stack.Diagnostics);
        }
        finally
        {
            await failing.CancelAsync();
            await load;
        }

        // Critical: the oncall receiver; grouped by job.
        var received = stack.Mail.Received.First(m => AlertMail.Is(m, "ErrorBudgetBurnFast", "firing"));
        Assert.Equal("oncall@example.com", received.To);
        Assert.Contains("ErrorBudgetBurnFast api", received.Subject, StringComparison.Ordinal);
    }

    /// <summary>GET / failing as a dependency call that times out would (500), the route every service keeps.</summary>
    private async Task FailRequestsUntilAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { { MonitoringStack.FaultHeader, "steady" } } };
            await stack.Client.SendAsync(request, CancellationToken.None);
            await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>
    /// Requests that keep every rate window busy: a success (and, with the users resource, a 404 on its id route and a
    /// 400 on its sign-up); and about once a second a job (with users also a sign-up, whose welcome email is one too),
    /// which keeps the queue's wait and duration windows busy.
    /// </summary>
    private async Task SteadyTrafficUntilAsync(CancellationToken stop)
    {
        for (var round = 0; !stop.IsCancellationRequested; round++)
        {
            if (round % 10 == 0)
            {
                stack.EnqueueJob();
//#if (users)
                await stack.Client.PostAsJsonAsync("/api/users", new { name = $"Steady {round}", email = $"steady-{Guid.NewGuid():N}@example.com" }, CancellationToken.None);
//#endif
            }

            await stack.Client.GetAsync("/", CancellationToken.None);
//#if (users)
            await stack.Client.GetAsync($"/api/users/{Guid.CreateVersion7()}", CancellationToken.None);
            await stack.Client.PostAsJsonAsync("/api/users", new { name = "", email = "not-an-email" }, CancellationToken.None);
//#endif
            await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>The query is accepted and answers no NaN; with <paramref name="needsData"/>, it answers something.</summary>
    private async Task AssertAnswersAsync(PanelQuery query, string promql, bool needsData)
    {
        var where = $"panel '{query.PanelTitle}' ({query.Dashboard} #{query.PanelId} {query.RefId}): {promql}";
        var result = await QueryOrFailAsync(query, promql);
        if (needsData && result.Count == 0)
        {
            // A series that has just appeared needs a second sample before rate() has a value.
            await Eventually.HoldsAsync(async () => (result = await stack.Prometheus.QueryAsync(promql)).Count > 0, Patience,
                "data for " + where, stack.Diagnostics);
        }

        Assert.False(HasNaN(result), $"NaN from {where}: {string.Join(", ", result)}");
    }

    private static bool HasNaN(IEnumerable<System.Text.Json.JsonElement> result) =>
        result.Any(sample => (sample.ValueKind == System.Text.Json.JsonValueKind.Object ? sample.GetProperty("value") : sample)[1].GetString() == "NaN");

    private async Task AssertEventuallyAsync(string promql, Func<double, bool> holds) =>
        await Eventually.HoldsAsync(async () =>
        {
            var result = await stack.Prometheus.QueryAsync(promql);
            return result.Count == 1 && holds(double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        }, Patience, promql, () => string.Join("\n", stack.Prometheus.QueryAsync(promql).Result) + "\n" + stack.Diagnostics());

    private async Task<IReadOnlyList<System.Text.Json.JsonElement>> QueryOrFailAsync(PanelQuery query, string promql)
    {
        try
        {
            return await stack.Prometheus.QueryAsync(promql);
        }
        catch (InvalidOperationException exception)
        {
            Assert.Fail($"Panel '{query.PanelTitle}' ({query.Dashboard} #{query.PanelId} {query.RefId}): {exception.Message}");
            throw;
        }
    }
}

/// <summary>
/// A dependency dies: the Redis the app and redis-exporter use is killed, RedisDown reaches the inbox, and clears
/// when Redis is back. A class of its own, so that the outage cannot disturb the assertions of the tests above.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class RedisDownAlertTests(MonitoringStack stack) : IClassFixture<MonitoringStack>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_dead_redis_fires_RedisDown_which_reaches_the_inbox_and_resolves_when_it_is_back()
    {
        await Eventually.HoldsAsync(async () => (await stack.Prometheus.QueryAsync("redis_up == 1")).Count == 1,
            Patience, "redis_up = 1 before the fault", stack.Diagnostics);
        await stack.Redis.KillAsync();
        try
        {
            await Eventually.HoldsAsync(() => stack.Mail.Received.Any(m => AlertMail.Is(m, "RedisDown", "firing")),
                Patience, "RedisDown in the inbox", stack.Diagnostics);
        }
        finally
        {
            await stack.Redis.RestartAsync();
        }

        await Eventually.HoldsAsync(async () => (await stack.Prometheus.AlertsAsync()).All(a => a.Name != "RedisDown"),
            Patience, "RedisDown to clear in Prometheus", stack.Diagnostics);
        await Eventually.HoldsAsync(() => stack.Mail.Received.Any(m => AlertMail.Is(m, "RedisDown", "resolved")),
            Patience, "RedisDown resolved in the inbox", stack.Diagnostics);
    }
}
