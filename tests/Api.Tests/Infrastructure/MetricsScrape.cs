using System.Globalization;
using System.Text;

namespace Api.Tests.Infrastructure;

/// <summary>One sample of a scrape: metric name, labels, value.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";

    /// <summary>The series identity, without the exporter's own scope label.</summary>
    public string SeriesKey => Name + "{" + string.Join(",", Labels.Where(l => l.Key != "otel_scope_name").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
}

/// <summary>
/// Reads the Prometheus text format the app serves, so tests can assert on values. (The app never writes the format
/// itself: the exporter library does. Reading it here is test code only.)
/// </summary>
public sealed class MetricsScrape(IReadOnlyList<Sample> samples, string text)
{
    public IReadOnlyList<Sample> Samples { get; } = samples;
    public string Text { get; } = text;

    public static async Task<MetricsScrape> FetchAsync(HttpClient client, string path = "/metrics")
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {text}");
        }

        return Parse(text);
    }

    public IEnumerable<Sample> Named(string name) => Samples.Where(s => s.Name == name);

    /// <summary>The sum of a metric's samples whose labels include all of <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Name, string Value)[] labels) =>
        Named(name).Where(s => labels.All(l => s.Label(l.Name) == l.Value)).Sum(s => s.Value);

    public static MetricsScrape Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            samples.Add(ParseLine(line));
        }

        return new MetricsScrape(samples, text);
    }

    private static Sample ParseLine(string line)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        string name;
        int rest;
        if (brace >= 0 && brace < space)
        {
            name = line[..brace];
            var i = brace + 1;
            while (line[i] != '}')
            {
                var equals = line.IndexOf('=', i);
                var key = line[i..equals].Trim(',', ' ');
                var value = new StringBuilder();
                i = equals + 2; // past ="
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                labels[key] = value.ToString();
                i++;
                while (line[i] == ',' || line[i] == ' ')
                {
                    i++;
                }
            }

            rest = i + 1;
        }
        else
        {
            name = line[..space];
            rest = space;
        }

        var fields = line[rest..].Trim().Split(' ');
        var number = fields[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.Parse(v, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }
}
