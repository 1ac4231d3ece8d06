using System.Text.Json;
using System.Text.RegularExpressions;

namespace Api.Tests.Monitoring;

/// <summary>Reads Alertmanager's emails (its default template): "[FIRING:1] ApiDown api (…)", "[RESOLVED] ApiDown …".</summary>
public static class AlertMail
{
    public static bool Is(ReceivedMail mail, string alertname, string status) =>
        mail.Subject.StartsWith($"[{status.ToUpperInvariant()}", StringComparison.Ordinal) &&
        Regex.IsMatch(mail.Subject, $@"\] {Regex.Escape(alertname)}\b");
}

/// <summary>The runbook document and the alerts' links into it.</summary>
public sealed class RunbookTests
{
    [Fact]
    public void Every_alert_has_a_summary_a_description_and_a_runbook_url_to_its_own_section_of_RUNBOOKS_md()
    {
        var headings = File.ReadAllLines(MonitoringConfig.RepositoryFile("RUNBOOKS.md"))
            .Where(line => line.StartsWith("## ", StringComparison.Ordinal))
            .Select(line => line[3..].Trim().ToLowerInvariant())   // GitHub's anchor of a one-word heading
            .ToHashSet(StringComparer.Ordinal);
        var alerts = MonitoringConfig.LoadRules().Where(r => r.ContainsKey("alert")).ToList();
        Assert.NotEmpty(alerts);
        foreach (var alert in alerts)
        {
            var name = (string)alert["alert"];
            var annotations = (Dictionary<object, object>)alert["annotations"];
            Assert.True(annotations.ContainsKey("summary") && annotations.ContainsKey("description"), $"{name}: summary and description");
            var url = (string)annotations["runbook_url"];
            Assert.EndsWith($"/RUNBOOKS.md#{name.ToLowerInvariant()}", url, StringComparison.Ordinal);
            Assert.Contains(name.ToLowerInvariant(), headings);
        }
    }

    [Fact]
    public void MONITORING_md_lists_every_alert_once_with_the_severity_of_its_rule()
    {
        var text = File.ReadAllText(MonitoringConfig.RepositoryFile("MONITORING.md"));
        var alerting = text[text.IndexOf("\n## Alerting", StringComparison.Ordinal)..];
        alerting = alerting[..alerting.IndexOf("\n## ", 5, StringComparison.Ordinal)];
        var rows = Regex.Matches(alerting, @"^\| `(?<name>\w+)` \| (?<severity>critical|warning|none) \|", RegexOptions.Multiline)
            .Select(m => (Name: m.Groups["name"].Value, Severity: m.Groups["severity"].Value)).ToList();
        var rules = MonitoringConfig.LoadRules().Where(r => r.ContainsKey("alert"))
            .Select(r => (Name: (string)r["alert"], Severity: (string)((Dictionary<object, object>)r["labels"])["severity"])).ToList();
        Assert.Equal(rules.Order(), rows.Order());
    }

    internal static string RunbookUrl(string alertname) =>
        (string)((Dictionary<object, object>)MonitoringConfig.LoadRules().Single(r => r.TryGetValue("alert", out var a) && (string)a == alertname)["annotations"])["runbook_url"];
}

/// <summary>
/// The seed's minimal path (API_TARGET=host: the app on the host, Prometheus with prometheus/targets/host/) plus the
/// shipped Alertmanager mailing to a real SMTP server: only what runs is scraped, nothing but the Watchdog fires while
/// the app is healthy, and when the app dies the ApiDown email arrives with its runbook link, then the resolved one.
/// </summary>
public sealed class AlertDeliveryTests : IAsyncLifetime
{
    private const string ApiKey = "delivery-scrape-key";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly int _appPort = FreePort.Next();
    private TempApp _app = null!;
    private SmtpSink _mail = null!;
    private AlertmanagerServer _alertmanager = null!;
    private PrometheusServer _prometheus = null!;

    public async Task InitializeAsync()
    {
        _app = await TempApp.StartAsync(new Dictionary<string, string?> { ["Metrics:ApiKey"] = ApiKey }, name: "delivery", port: _appPort);
        // A cold app's first /metrics takes most of the test's 1 s scrape timeout (JIT): scrape once before Prometheus
        // does, or ApiScrapeSlow rightly fires.
        using (var http = new HttpClient { BaseAddress = _app.BaseAddress })
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
            (await http.GetAsync("/metrics")).EnsureSuccessStatusCode();
            // A probe, as the image's HEALTHCHECK makes: an app with no HTTP series at all is ApiHttpMetricsMissing.
            (await http.GetAsync("/health/live")).EnsureSuccessStatusCode();
        }

        _mail = await SmtpSink.StartAsync();
        _alertmanager = await AlertmanagerServer.StartAsync(MonitoringConfig.WriteAlertmanager(_app.Folder, _mail.Port));
        var prometheusPort = FreePort.Next();
        var config = MonitoringConfig.WritePrometheus(_app.Folder, new Dictionary<string, string>
        {
            ["api"] = $"127.0.0.1:{_appPort}",
            ["prometheus"] = $"127.0.0.1:{prometheusPort}",
        }, $"127.0.0.1:{_alertmanager.Port}", ApiKey, targetSet: "host");
        // A deployment that is not production, as .env's ENVIRONMENT makes one: its alerts say so.
        _prometheus = await PrometheusServer.StartAsync(config, prometheusPort, environment: "staging");
    }

    [Fact]
    public async Task A_dead_app_mails_ApiDown_with_its_runbook_and_mails_the_resolution_when_it_is_back()
    {
        // Healthy: the two jobs that run are up, the four with empty target files have no target at all.
        await Eventually.HoldsAsync(async () => (await _prometheus.TargetsAsync()) is { Count: 2 } targets && targets.All(t => t.Health == "up"),
            Patience, "api and prometheus up, nothing else scraped", Diagnostics);
        Assert.Equal(["api", "prometheus"], (await _prometheus.TargetsAsync()).Select(t => t.Job).Order(StringComparer.Ordinal));

        // With every `for` at 2 s, anything that would fire on this path has fired after some evaluations.
        await Eventually.HoldsAsync(async () => (await _prometheus.RulesAsync()).All(r => r.Health == "ok"), Patience, "rules evaluated", Diagnostics);
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(["Watchdog"], (await _prometheus.AlertsAsync()).Select(a => a.Name));

        // The Watchdog reaches Alertmanager and goes to its own receiver, not to anyone's inbox.
        await Eventually.HoldsAsync(async () => (await AlertmanagerAlertsAsync()).Any(a => Name(a) == "Watchdog"), Patience, "Watchdog in Alertmanager", Diagnostics);
        var watchdog = (await AlertmanagerAlertsAsync()).Single(a => Name(a) == "Watchdog");
        Assert.Equal(["deadmansswitch"], watchdog.GetProperty("receivers").EnumerateArray().Select(r => r.GetProperty("name").GetString()));

        // The fault: the app process dies (kill -9).
        _app.Kill();
        await Eventually.HoldsAsync(() => _mail.Received.Any(m => AlertMail.Is(m, "ApiDown", "firing")), Patience, "the ApiDown email", Diagnostics);
        var firing = _mail.Received.First(m => AlertMail.Is(m, "ApiDown", "firing"));
        Assert.Equal("oncall@example.com", firing.To);
        Assert.Contains(RunbookTests.RunbookUrl("ApiDown"), firing.Body, StringComparison.Ordinal);
        var apiDown = (await AlertmanagerAlertsAsync()).Single(a => Name(a) == "ApiDown");
        Assert.Equal("staging", apiDown.GetProperty("labels").GetProperty("environment").GetString());

        // The fix: the app is back on its address.
        await _app.RestartAsync();
        await Eventually.HoldsAsync(() => _mail.Received.Any(m => AlertMail.Is(m, "ApiDown", "resolved")), Patience, "the resolved ApiDown email", Diagnostics);
        Assert.DoesNotContain(_mail.Received, m => m.Subject.Contains("Watchdog", StringComparison.Ordinal));
    }

    private async Task<List<JsonElement>> AlertmanagerAlertsAsync()
    {
        using var http = new HttpClient();
        return await http.GetFromJsonAsync<List<JsonElement>>($"http://127.0.0.1:{_alertmanager.Port}/api/v2/alerts") ?? [];
    }

    private static string? Name(JsonElement alert) => alert.GetProperty("labels").GetProperty("alertname").GetString();

    private string Diagnostics() =>
        $"--- mail ---\n{string.Join("\n", _mail?.Received.Select(m => $"{m.To}: {m.Subject}") ?? [])}\n" +
        $"--- prometheus ---\n{Tail(_prometheus?.Output)}\n--- alertmanager ---\n{Tail(_alertmanager?.Output)}\n--- app ---\n{Tail(_app?.Output)}";

    private static string Tail(string? text) => text is null ? "" : text.Length > 3000 ? text[^3000..] : text;

    public async Task DisposeAsync()
    {
        foreach (var disposable in new IAsyncDisposable?[] { _prometheus, _alertmanager, _mail, _app })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }
    }
}

/// <summary>
/// The shipped inhibit rules in a real Alertmanager, with alerts posted to its API, one outage a test: one page each,
/// and each rule mutes only what shares its scope (the down replica, the environment, the objective).
/// </summary>
public sealed class InhibitionTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _folder = TempFolder.Create("api-tests-inhibition");
    private SmtpSink _mail = null!;
    private AlertmanagerServer _alertmanager = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _mail = await SmtpSink.StartAsync();
        _alertmanager = await AlertmanagerServer.StartAsync(MonitoringConfig.WriteAlertmanager(_folder, _mail.Port));
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_alertmanager.Port}/api/v2/") };
    }

    [Fact]
    public async Task One_of_three_replicas_down_mutes_its_own_warnings_only_and_an_exporter_down_mutes_no_app_alert()
    {
        await PostAsync(
            Alert("ApiDown", "critical", ("job", "api"), ("instance", "app1:3000")),
            Alert("ThreadPoolStarvation", "warning", ("job", "api"), ("instance", "app1:3000")),
            Alert("ThreadPoolStarvation", "warning", ("job", "api"), ("instance", "app2:3000")),
            Alert("GcPauseHigh", "warning", ("job", "api"), ("instance", "app3:3000")),
            Alert("HighLatencyP95", "warning", ("job", "api")),
            Alert("TargetDown", "warning", ("job", "node")));

        await Eventually.HoldsAsync(async () => await StateAsync("ThreadPoolStarvation", ("instance", "app1:3000")) == "suppressed", Patience,
            "the down replica's warning muted", Diagnostics);
        Assert.Equal("active", await StateAsync("ThreadPoolStarvation", ("instance", "app2:3000")));
        Assert.Equal("active", await StateAsync("GcPauseHigh", ("instance", "app3:3000")));
        Assert.Equal("active", await StateAsync("HighLatencyP95"));
        Assert.Equal("active", await StateAsync("TargetDown"));
        await Eventually.HoldsAsync(() => _mail.Received.Any(m => AlertMail.Is(m, "ThreadPoolStarvation", "firing")) &&
                                          _mail.Received.Any(m => AlertMail.Is(m, "ApiDown", "firing") && m.To == "oncall@example.com"),
            Patience, "the other replica's warning and the one page in the inboxes", Diagnostics);
    }

    [Fact]
    public async Task A_Redis_outage_pages_once_and_mutes_only_its_own_environment()
    {
        await PostAsync(
            Alert("RedisDown", "critical", ("job", "redis"), ("instance", "redis-exporter:9121"), ("environment", "production")),
            Alert("QueueStorageDown", "warning", ("job", "api"), ("instance", "app1:3000"), ("environment", "production")),
            Alert("QueueStorageDown", "warning", ("job", "api"), ("instance", "app2:3000"), ("environment", "production")),
            Alert("QueueOutboxNotDraining", "warning", ("job", "api"), ("queue", "email"), ("environment", "production")),
            Alert("QueueJobsStuck", "warning", ("job", "api"), ("queue", "email"), ("environment", "production")),
            Alert("QueueStorageDown", "warning", ("job", "api"), ("instance", "app1:3000"), ("environment", "staging")));

        await Eventually.HoldsAsync(async () => await StateAsync("QueueStorageDown", ("environment", "staging")) == "active" &&
                                                await StateAsync("QueueOutboxNotDraining") == "suppressed", Patience, "the queue alerts muted", Diagnostics);
        Assert.Equal("suppressed", await StateAsync("QueueStorageDown", ("instance", "app1:3000"), ("environment", "production")));
        Assert.Equal("suppressed", await StateAsync("QueueStorageDown", ("instance", "app2:3000"), ("environment", "production")));
        Assert.Equal("suppressed", await StateAsync("QueueJobsStuck"));
        await OnePageAsync("RedisDown", unmuted: "QueueStorageDown", muted: ["QueueOutboxNotDraining", "QueueJobsStuck"]);
    }

    [Fact]
    public async Task A_5xx_outage_pages_once_through_the_fast_burn()
    {
        await PostAsync(
            Alert("ErrorBudgetBurnFast", "critical", ("job", "api"), ("slo", "availability")),
            Alert("ErrorBudgetBurnSlow", "warning", ("job", "api"), ("slo", "availability")),
            Alert("HighErrorRate", "warning", ("job", "api")),
            Alert("HighLatencyP95", "warning", ("job", "api")),
            Alert("ErrorBudgetBurnSlow", "warning", ("job", "api"), ("slo", "latency")));

        await Eventually.HoldsAsync(async () => await StateAsync("HighErrorRate") == "suppressed", Patience, "HighErrorRate muted", Diagnostics);
        Assert.Equal("suppressed", await StateAsync("ErrorBudgetBurnSlow", ("slo", "availability")));
        // The latency objective is another outage: its warnings stay.
        Assert.Equal("active", await StateAsync("ErrorBudgetBurnSlow", ("slo", "latency")));
        Assert.Equal("active", await StateAsync("HighLatencyP95"));
    }

    [Fact]
    public async Task A_PostgreSQL_outage_pages_once_and_mutes_the_budget_burn_of_its_own_environment_only()
    {
        await PostAsync(
            Alert("PostgresDown", "critical", ("job", "postgres"), ("instance", "postgres-exporter:9187"), ("environment", "production")),
            Alert("ErrorBudgetBurnFast", "critical", ("job", "api"), ("slo", "availability"), ("environment", "production")),
            Alert("ErrorBudgetBurnSlow", "warning", ("job", "api"), ("slo", "availability"), ("environment", "production")),
            Alert("HighErrorRate", "warning", ("job", "api"), ("environment", "production")),
            Alert("DatabasePoolExhausted", "warning", ("job", "api"), ("instance", "app1:3000"), ("environment", "production")),
            Alert("HighErrorRate", "warning", ("job", "api"), ("environment", "staging")));

        await Eventually.HoldsAsync(async () => await StateAsync("HighErrorRate", ("environment", "staging")) == "active" &&
                                                await StateAsync("ErrorBudgetBurnFast") == "suppressed", Patience, "the budget burn muted", Diagnostics);
        Assert.Equal("suppressed", await StateAsync("ErrorBudgetBurnSlow"));
        Assert.Equal("suppressed", await StateAsync("HighErrorRate", ("environment", "production")));
        // What the pool says is not a consequence the rule names: it stays, as diagnosis.
        Assert.Equal("active", await StateAsync("DatabasePoolExhausted"));
        await OnePageAsync("PostgresDown", unmuted: "HighErrorRate", muted: ["ErrorBudgetBurnFast", "ErrorBudgetBurnSlow"]);
    }

    [Fact]
    public async Task No_app_target_mutes_every_warning_of_its_job_but_no_page_and_no_other_job()
    {
        await PostAsync(
            Alert("ApiTargetMissing", "critical", ("job", "api"), ("environment", "production")),
            Alert("HighLatencyP95", "warning", ("job", "api"), ("environment", "production")),
            Alert("ThreadPoolStarvation", "warning", ("job", "api"), ("instance", "app1:3000"), ("environment", "production")),
            Alert("ErrorBudgetBurnFast", "critical", ("job", "api"), ("slo", "latency"), ("environment", "production")),
            Alert("HighLatencyP95", "warning", ("job", "orders"), ("environment", "production")),
            Alert("HighLatencyP95", "warning", ("job", "api"), ("environment", "staging")),
            Alert("TargetDown", "warning", ("job", "node"), ("environment", "production")));

        await Eventually.HoldsAsync(async () => await StateAsync("HighLatencyP95", ("job", "api"), ("environment", "production")) == "suppressed", Patience,
            "the job's warnings muted", Diagnostics);
        Assert.Equal("suppressed", await StateAsync("ThreadPoolStarvation"));
        Assert.Equal("active", await StateAsync("ErrorBudgetBurnFast"));
        Assert.Equal("active", await StateAsync("HighLatencyP95", ("job", "orders")));
        // A staging copy's job of the same name is another deployment: production's missing target says nothing of it.
        Assert.Equal("active", await StateAsync("HighLatencyP95", ("job", "api"), ("environment", "staging")));
        Assert.Equal("active", await StateAsync("TargetDown"));
    }

    [Fact]
    public async Task Queue_storage_down_mutes_the_queue_warnings_it_explains_but_not_failing_jobs()
    {
        await PostAsync(
            Alert("QueueStorageDown", "warning", ("job", "api"), ("instance", "app1:3000")),
            Alert("QueueJobsStuck", "warning", ("job", "api"), ("queue", "email")),
            Alert("QueueOutboxNotDraining", "warning", ("job", "api"), ("queue", "email")),
            Alert("QueueBacklogGrowing", "warning", ("job", "api"), ("queue", "email")),
            Alert("QueueJobsFailing", "warning", ("job", "api"), ("queue", "email")),
            Alert("QueueJobsStuck", "warning", ("job", "orders"), ("queue", "email")));

        await Eventually.HoldsAsync(async () => await StateAsync("QueueJobsStuck", ("job", "api")) == "suppressed", Patience,
            "the queue warnings muted", Diagnostics);
        Assert.Equal("suppressed", await StateAsync("QueueOutboxNotDraining"));
        Assert.Equal("suppressed", await StateAsync("QueueBacklogGrowing"));
        // Jobs that fail while the storage answers are their own problem (SMTP, a bug), not the storage's.
        Assert.Equal("active", await StateAsync("QueueJobsFailing"));
        Assert.Equal("active", await StateAsync("QueueJobsStuck", ("job", "orders")));
        Assert.Equal("active", await StateAsync("QueueStorageDown"));
    }

    /// <summary>
    /// The outage's page and the one warning no rule mutes (staging's) reach the inboxes, the page is the only mail to
    /// on-call, and the muted alerts mail nobody.
    /// </summary>
    private async Task OnePageAsync(string page, string unmuted, string[] muted)
    {
        await Eventually.HoldsAsync(() => _mail.Received.Any(m => AlertMail.Is(m, page, "firing")) &&
                                          _mail.Received.Any(m => AlertMail.Is(m, unmuted, "firing")),
            Patience, "the page and staging's warning", Diagnostics);
        Assert.Single(_mail.Received, m => m.To == "oncall@example.com");
        Assert.DoesNotContain(_mail.Received, m => muted.Any(name => AlertMail.Is(m, name, "firing")));
    }

    private static Dictionary<string, object> Alert(string name, string severity, params (string Key, string Value)[] labels)
    {
        var all = labels.ToDictionary(l => l.Key, l => l.Value);
        all["alertname"] = name;
        all["severity"] = severity;
        return new Dictionary<string, object> { ["labels"] = all, ["annotations"] = new Dictionary<string, string> { ["summary"] = name } };
    }

    private async Task PostAsync(params Dictionary<string, object>[] alerts)
    {
        using var response = await _http.PostAsJsonAsync("alerts", alerts);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>active or suppressed (inhibited); null until Alertmanager holds the alert.</summary>
    private async Task<string?> StateAsync(string alertname, params (string Key, string Value)[] labels)
    {
        var alerts = await _http.GetFromJsonAsync<List<JsonElement>>("alerts") ?? [];
        var alert = alerts.SingleOrDefault(a =>
        {
            var all = a.GetProperty("labels");
            return all.GetProperty("alertname").GetString() == alertname &&
                labels.All(l => all.TryGetProperty(l.Key, out var value) && value.GetString() == l.Value);
        });
        return alert.ValueKind == JsonValueKind.Undefined ? null : alert.GetProperty("status").GetProperty("state").GetString();
    }

    private string Diagnostics() =>
        $"--- alerts ---\n{_http.GetStringAsync("alerts").Result}\n--- mail ---\n{string.Join("\n", _mail.Received.Select(m => m.Subject))}\n--- alertmanager ---\n{_alertmanager.Output}";

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        foreach (var disposable in new IAsyncDisposable?[] { _alertmanager, _mail })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }

        TempFolder.Delete(_folder);
    }
}
