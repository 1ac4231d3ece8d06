using System.Text.RegularExpressions;
using Api.Tests.Monitoring;

namespace Api.Tests.Architecture;

/// <summary>
/// Arrows one way between the folders of src/Api: a few leaves every feature may use, and features that use leaves and
/// each other's extension points, never each other both ways. A feature uses another when one of its files names the
/// other's namespace (<c>using Api.Queue;</c> or <c>Api.Queue.Something</c>) outside comments and strings.
/// </summary>
public sealed partial class FeatureDependencyTests
{
    private static readonly string[] Leaves = ["ApiKeys", "Configuration", "Errors"];

    private static Dictionary<string, HashSet<string>> Uses()
    {
        var root = MonitoringConfig.RepositoryFile("src/Api");
        var uses = new Dictionary<string, HashSet<string>>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
            if (relative.Length < 2 || relative[0] is "bin" or "obj")
            {
                continue; // Program.cs and the root endpoint are the table of contents: they use everything.
            }

            var folder = relative[0];
            var code = CommentOrString().Replace(File.ReadAllText(file), "");
            var named = uses.TryGetValue(folder, out var set) ? set : uses[folder] = [];
            foreach (Match match in NamespaceReference().Matches(code))
            {
                var used = match.Groups["feature"].Value;
                if (used != folder && Directory.Exists(Path.Combine(root, used)))
                {
                    named.Add(used);
                }
            }
        }

        return uses;
    }

    [Fact]
    public void No_two_features_use_each_other()
    {
        var uses = Uses();

        var loops = uses.SelectMany(pair => pair.Value.Where(used => string.CompareOrdinal(pair.Key, used) < 0
                && uses.TryGetValue(used, out var back) && back.Contains(pair.Key)).Select(used => $"{pair.Key} <-> {used}"))
            .ToList();
        Assert.True(loops.Count == 0, "Two-way dependencies between folders of src/Api: " + string.Join(", ", loops));
    }

    [Fact]
    public void The_leaves_use_no_feature()
    {
        var uses = Uses();

        foreach (var leaf in Leaves)
        {
            var features = uses.GetValueOrDefault(leaf, []).Except(Leaves).ToList();
            Assert.True(features.Count == 0, $"{leaf} is a leaf every feature may use, yet it uses {string.Join(", ", features)}");
        }
    }

    [Fact]
    public void Observability_owns_nothing_of_security() =>
        Assert.DoesNotContain("Security", Uses()["Observability"]);

    // Line and block comments, and string literals (migrations name entity types in strings), are not dependencies.
    [GeneratedRegex("""//[^\n]*|/\*.*?\*/|@?"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)'""", RegexOptions.Singleline)]
    private static partial Regex CommentOrString();

    [GeneratedRegex(@"(?<![\w.])Api\.(?<feature>[A-Z]\w*)")]
    private static partial Regex NamespaceReference();
}
