using YamlDotNet.Serialization;

namespace Api.Tests.Monitoring;

/// <summary>
/// The project's own monitoring files (prometheus/, alertmanager/, grafana/ at the repository root) made runnable on
/// loopback. The rewrite is deliberately small, so what the tests prove holds for the shipped files:
/// <list type="bullet">
/// <item>prometheus.yml: every job's targets (static, or file-discovered from one of the shipped target sets,
/// prometheus/targets/compose or host) become the loopback address of the process the test started for that job; a
/// job whose target file in the set lists nothing keeps no target; the scrape key file and the Alertmanager address
/// are the test's; the scrape and evaluation intervals become 1 s. Jobs, paths, authorization type and rule files are
/// kept.</item>
/// <item>alerts.yml: every <c>for</c> becomes 2 s and every group runs at the evaluation interval. Expressions, labels and annotations are kept.</item>
/// <item>alertmanager.yml: the SMTP server (and any webhook URL) becomes the test's; group_wait and group_interval
/// become 1 s. Routes, receivers and inhibit rules are kept.</item>
/// </list>
/// </summary>
public static class MonitoringConfig
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    public const string AlertFor = "2s";

    /// <summary>The repository root: the folder holding Backend.slnx, above the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string RepositoryFile(string relative) => Path.Combine(RepositoryRoot, relative);

    /// <summary>Writes prometheus.yml and alerts.yml into <paramref name="folder"/>; returns the configuration file.</summary>
    /// <param name="targets">job name to host:port; a job with targets in the set but missing here fails the rewrite.</param>
    /// <param name="targetSet">the folder of prometheus/targets/ docker-compose.yml mounts (API_TARGET).</param>
    /// <param name="scrapeInterval">the scrape interval and timeout; <see cref="Interval"/> unless a test needs slack.</param>
    public static string WritePrometheus(string folder, IReadOnlyDictionary<string, string> targets, string alertmanager, string apiKey,
        string targetSet = "compose", TimeSpan? scrapeInterval = null)
    {
        var scrape = scrapeInterval ?? Interval;
        var config = Load(RepositoryFile("prometheus/prometheus.yml"));
        var global = Map(config, "global");
        global["scrape_interval"] = Seconds(scrape);
        global["scrape_timeout"] = Seconds(scrape);
        global["evaluation_interval"] = Seconds(Interval);

        var keyFile = Path.Combine(folder, "metrics_api_key");
        File.WriteAllText(keyFile, apiKey);
        foreach (var job in List(config, "scrape_configs").Cast<Dictionary<object, object>>())
        {
            var name = (string)job["job_name"];
            var shipped = ShippedTargets(job, targetSet);
            if (shipped == 0)
            {
                job.Remove("file_sd_configs");
                job["static_configs"] = new List<object>();
            }
            else if (!targets.TryGetValue(name, out var target))
            {
                throw new InvalidOperationException($"prometheus.yml has a job '{name}' the test starts nothing for.");
            }
            else
            {
                job.Remove("file_sd_configs");
                job["static_configs"] = new List<object> { new Dictionary<object, object> { ["targets"] = new List<object> { target } } };
            }

            if (job.ContainsKey("scrape_interval"))
            {
                job["scrape_interval"] = Seconds(scrape);
            }

            if (job.TryGetValue("authorization", out var authorization))
            {
                ((Dictionary<object, object>)authorization)["credentials_file"] = keyFile;
            }
        }

        foreach (var manager in List(Map(config, "alerting"), "alertmanagers").Cast<Dictionary<object, object>>())
        {
            manager.Remove("file_sd_configs");
            manager["static_configs"] = new List<object> { new Dictionary<object, object> { ["targets"] = new List<object> { alertmanager } } };
        }

        // Rule files are named relative to prometheus.yml; the rewritten copies sit side by side in the same way.
        foreach (var ruleFile in List(config, "rule_files").Cast<string>())
        {
            var rules = Load(Path.Combine(RepositoryRoot, "prometheus", ruleFile));
            // A slower group's own interval (the 30-day SLO window) would leave its rules unevaluated for minutes.
            foreach (var group in List(rules, "groups").Cast<Dictionary<object, object>>())
            {
                group.Remove("interval");
            }

            foreach (var rule in List(rules, "groups").Cast<Dictionary<object, object>>().SelectMany(g => List(g, "rules").Cast<Dictionary<object, object>>()))
            {
                if (rule.ContainsKey("for"))
                {
                    rule["for"] = AlertFor;
                }
            }

            Save(rules, Path.Combine(folder, ruleFile));
        }

        var file = Path.Combine(folder, "prometheus.yml");
        Save(config, file);
        return file;
    }

    /// <summary>
    /// How many targets a job lists in the shipped files: its static targets, or those of its target file in the set
    /// (docker-compose.yml mounts prometheus/targets/SET at /etc/prometheus-targets).
    /// </summary>
    private static int ShippedTargets(Dictionary<object, object> job, string targetSet)
    {
        var count = List(job, "static_configs").Cast<Dictionary<object, object>>().Sum(c => List(c, "targets").Count);
        foreach (var discovery in List(job, "file_sd_configs").Cast<Dictionary<object, object>>())
        {
            foreach (var file in List(discovery, "files").Cast<string>())
            {
                var shipped = RepositoryFile(Path.Combine("prometheus", "targets", targetSet, Path.GetFileName(file)));
                var groups = new DeserializerBuilder().Build().Deserialize<List<Dictionary<object, object>>?>(File.ReadAllText(shipped)) ?? [];
                count += groups.Sum(g => List(g, "targets").Count);
            }
        }

        return count;
    }

    /// <summary>Writes alertmanager.yml into <paramref name="folder"/>, mailing through 127.0.0.1:<paramref name="smtpPort"/>; returns its path.</summary>
    public static string WriteAlertmanager(string folder, int smtpPort, string? webhookUrl = null)
    {
        var config = Load(RepositoryFile("alertmanager/alertmanager.yml"));
        Map(config, "global")["smtp_smarthost"] = $"127.0.0.1:{smtpPort}";
        foreach (var receiver in List(config, "receivers").Cast<Dictionary<object, object>>())
        {
            if (webhookUrl is not null && receiver.TryGetValue("webhook_configs", out var webhooks))
            {
                foreach (var webhook in ((List<object>)webhooks).Cast<Dictionary<object, object>>())
                {
                    webhook["url"] = webhookUrl;
                }
            }
        }

        ShortenRoute(Map(config, "route"));
        var file = Path.Combine(folder, "alertmanager.yml");
        Save(config, file);
        return file;
    }

    private static void ShortenRoute(Dictionary<object, object> route)
    {
        foreach (var key in new[] { "group_wait", "group_interval" })
        {
            if (route.ContainsKey(key))
            {
                route[key] = Seconds(Interval);
            }
        }

        if (route.TryGetValue("routes", out var children))
        {
            foreach (var child in ((List<object>)children).Cast<Dictionary<object, object>>())
            {
                ShortenRoute(child);
            }
        }
    }

    /// <summary>Every rule of alerts.yml, recording and alerting, as its YAML maps.</summary>
    public static List<Dictionary<object, object>> LoadRules() =>
        ((List<object>)Load(RepositoryFile("prometheus/alerts.yml"))["groups"]).Cast<Dictionary<object, object>>()
            .SelectMany(g => ((List<object>)g["rules"]).Cast<Dictionary<object, object>>()).ToList();

    private static string Seconds(TimeSpan span) => $"{(int)span.TotalSeconds}s";

    private static Dictionary<object, object> Load(string path) =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(path));

    private static void Save(object document, string path) =>
        File.WriteAllText(path, new SerializerBuilder().Build().Serialize(document));

    private static Dictionary<object, object> Map(Dictionary<object, object> parent, string key) =>
        (Dictionary<object, object>)parent[key];

    private static List<object> List(Dictionary<object, object> parent, string key) =>
        parent.TryGetValue(key, out var value) && value is List<object> list ? list : [];

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Backend.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Backend.slnx above {AppContext.BaseDirectory}.");
    }
}
