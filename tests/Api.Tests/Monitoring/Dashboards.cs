using System.Text.Json;
using System.Text.RegularExpressions;

namespace Api.Tests.Monitoring;

public sealed record PanelQuery(string Dashboard, int PanelId, string PanelTitle, string RefId, string Expr, bool Instant)
{
    /// <summary>A latency quantile: with no requests in its window it has no value (a gap in Grafana), where a ratio has 0.</summary>
    public bool IsQuantile => Expr.Contains("histogram_quantile", StringComparison.Ordinal);
}

/// <summary>The Grafana files of the repository, read the way Grafana reads them, plus what the tests need of PromQL.</summary>
public static partial class Dashboards
{
    /// <summary>The panels of the original guide, which must show data as soon as there has been traffic.</summary>
    public static readonly string[] SeedPanelTitles =
    [
        "HTTP Request Rate", "HTTP Request Duration", "Total Requests", "Status Codes Distribution",
//#if (realtime)
        "WebSocket Connections",
//#endif
        "Queue Jobs", "Error Rate", "Queue Processing Rate",
    ];

    public const string MainDashboard = "backend-boilerplate.json";

    public static IReadOnlyList<string> Files { get; } =
        Directory.GetFiles(MonitoringConfig.RepositoryFile("grafana/dashboards"), "*.json").Order(StringComparer.Ordinal).ToList();

    public static JsonElement Load(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return document.RootElement.Clone();
    }

    /// <summary>Every panel, those nested in collapsed rows included.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out var nested))
            {
                foreach (var inner in nested.EnumerateArray())
                {
                    yield return inner;
                }
            }
        }
    }

    public static IEnumerable<PanelQuery> Queries() =>
        from file in Files
        let dashboard = Load(file)
        from panel in Panels(dashboard)
        where panel.TryGetProperty("targets", out _)
        from target in panel.GetProperty("targets").EnumerateArray()
        select new PanelQuery(Path.GetFileName(file), panel.GetProperty("id").GetInt32(), panel.GetProperty("title").GetString()!,
            target.GetProperty("refId").GetString()!, target.GetProperty("expr").GetString()!,
            target.TryGetProperty("instant", out var instant) && instant.GetBoolean());

    /// <summary>How every panel, target and query variable names its datasource: the dashboard's own variable.</summary>
    public const string DatasourceReference = "${datasource}";

    /// <summary>
    /// The variables every dashboard query may use, with the value a test gives them: <c>$job</c> the app's job, the
    /// instance variables (<c>$instance</c> of the app, <c>$node</c>, <c>$postgres</c>, <c>$redis</c> of the exporters)
    /// their allValue, as Grafana's "All" does.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> VariableValues = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["job"] = "api", ["instance"] = ".+", ["node"] = ".+", ["postgres"] = ".+", ["redis"] = ".+",
    };

    /// <summary>
    /// Grafana's variables replaced the way Grafana would over a few minutes of data: those of
    /// <see cref="VariableValues"/>; <c>$route</c> by its allValue, or by one route escaped as Grafana escapes the value
    /// of a multi-value variable inside <c>=~</c> (a route template holds regex characters: <c>/api/items/{id:guid}</c>);
    /// <c>$__rate_interval</c> by four scrapes, <c>$__range</c> by the dashboard's default hour. A variable the test
    /// does not know fails the test rather than reach Prometheus unreplaced.
    /// </summary>
    public static string Substitute(string expr, TimeSpan scrapeInterval, string? route = null)
    {
        var replaced = expr
            .Replace("$__rate_interval", $"{(int)(4 * scrapeInterval.TotalSeconds)}s", StringComparison.Ordinal)
            .Replace("$__range", "1h", StringComparison.Ordinal)
            .Replace("$__interval", $"{(int)scrapeInterval.TotalSeconds}s", StringComparison.Ordinal)
            .Replace("$route", route is null ? ".+" : GrafanaRegexEscape().Replace(route, @"\\$0"), StringComparison.Ordinal);
        return Variable().Replace(replaced, variable => VariableValues.TryGetValue(variable.Groups[1].Value, out var value)
            ? value
            : throw new InvalidOperationException($"Unknown dashboard variable {variable.Value} in {expr}"));
    }

    /// <summary>A <c>$name</c> (a label_replace's <c>"${1}xx"</c> is PromQL's own, not a variable).</summary>
    [GeneratedRegex(@"\$([a-z]\w*)")]
    private static partial Regex Variable();

    /// <summary>The characters Grafana's Prometheus datasource escapes in a variable's value (prometheusSpecialRegexEscape).</summary>
    [GeneratedRegex(@"[\\$^*{}\[\]'+?.()|]")]
    private static partial Regex GrafanaRegexEscape();

    /// <summary>
    /// The metric names a PromQL expression selects: what remains after removing strings, label matchers, ranges,
    /// grouping clauses, function names and keywords. Names with a colon are recording rules.
    /// </summary>
    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var stripped = Strings().Replace(expr, "\"\"");
        stripped = Braces().Replace(stripped, " ");
        stripped = Brackets().Replace(stripped, " ");
        stripped = Grouping().Replace(stripped, " ");
        return Identifiers().Matches(stripped)
            .Where(m => !stripped[(m.Index + m.Length)..].TrimStart().StartsWith('('))
            .Select(m => m.Value)
            .Where(name => !Keywords.Contains(name))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
        { "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "Inf", "NaN" };

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifiers();
}
