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

    private static string Root => MonitoringConfig.RepositoryFile("src/Api");

    /// <summary>Each source file with its folder (empty for the files at the root) and its code without comments and strings.</summary>
    private static IEnumerable<(string Folder, string Path, string Code)> Files()
    {
        foreach (var file in Directory.EnumerateFiles(Root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Root, file).Split(Path.DirectorySeparatorChar);
            if (relative[0] is "bin" or "obj")
            {
                continue;
            }

            yield return (relative.Length < 2 ? "" : relative[0], file, CommentOrString().Replace(File.ReadAllText(file), ""));
        }
    }

    private static Dictionary<string, HashSet<string>> Uses()
    {
        var uses = new Dictionary<string, HashSet<string>>();
        // Program.cs and the root endpoint are the table of contents: they use everything.
        foreach (var (folder, _, code) in Files().Where(file => file.Folder.Length > 0))
        {
            var named = uses.TryGetValue(folder, out var set) ? set : uses[folder] = [];
            foreach (Match match in NamespaceReference().Matches(code))
            {
                var used = match.Groups["feature"].Value;
                if (used != folder && Directory.Exists(Path.Combine(Root, used)))
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

    /// <summary>
    /// A global using (a <c>&lt;Using&gt;</c> item of Api.csproj or <c>global using</c> in a file) would let every file
    /// name a feature's types without naming its namespace, out of sight of the tests above: only the framework and
    /// the leaves may be imported everywhere.
    /// </summary>
    [Fact]
    public void Global_usings_name_only_leaves()
    {
        var project = File.ReadAllText(Path.Combine(Root, "Api.csproj"));
        var global = ProjectUsing().Matches(project).Select(match => match.Groups["namespace"].Value)
            .Concat(Files().SelectMany(file => GlobalUsing().Matches(file.Code).Select(match => match.Groups["namespace"].Value)))
            .ToList();
        Assert.Contains("Api.Configuration", global); // the reading works: Api.csproj imports this leaf

        var features = global.Where(name => NamespaceReference().Match(name) is { Success: true } match && !Leaves.Contains(match.Groups["feature"].Value)).ToList();
        Assert.True(features.Count == 0, "Global usings of features hide their arrows: " + string.Join(", ", features));
    }

    /// <summary>
    /// A file counts under its folder: one that declared another folder's namespace (or the root's, which every file
    /// sees without a using) would carry its dependencies unseen.
    /// </summary>
    [Fact]
    public void Every_file_of_a_folder_is_in_that_folders_namespace()
    {
        var misplaced = Files().Where(file => file.Folder.Length > 0)
            .Where(file => FileNamespace().Match(file.Code) is not { Success: true } match
                || match.Groups["feature"].Value != file.Folder)
            .Select(file => Path.GetRelativePath(Root, file.Path)).ToList();
        Assert.True(misplaced.Count == 0, "Files outside their folder's namespace: " + string.Join(", ", misplaced));
    }

    /// <summary>The root's files (Program.cs, the root endpoint) use every feature, so no feature may use them back.</summary>
    [Fact]
    public void No_feature_uses_the_root_files()
    {
        var rootTypes = Files().Where(file => file.Folder.Length == 0)
            .SelectMany(file => TypeDeclaration().Matches(file.Code).Select(match => match.Groups["type"].Value)).Distinct().ToList();
        Assert.Contains("RootApi", rootTypes); // the reading works

        var uses = Files().Where(file => file.Folder.Length > 0)
            .SelectMany(file => rootTypes.Where(type => Regex.IsMatch(file.Code, $@"(?<![\w.]){type}\b")).Select(type => $"{Path.GetRelativePath(Root, file.Path)} uses {type}"))
            .ToList();
        Assert.True(uses.Count == 0, "Features using the root's types: " + string.Join(", ", uses));
    }

    // Line and block comments, and string literals (migrations name entity types in strings), are not dependencies.
    [GeneratedRegex("""//[^\n]*|/\*.*?\*/|@?"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)'""", RegexOptions.Singleline)]
    private static partial Regex CommentOrString();

    [GeneratedRegex(@"(?<![\w.])Api\.(?<feature>[A-Z]\w*)")]
    private static partial Regex NamespaceReference();

    [GeneratedRegex(@"<Using\s+Include=""(?<namespace>[^""]+)""")]
    private static partial Regex ProjectUsing();

    [GeneratedRegex(@"^\s*global\s+using\s+(?:static\s+)?(?<namespace>[\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex GlobalUsing();

    // The root namespace is not spelled out: a service made from the template has its own.
    [GeneratedRegex(@"^namespace\s+\w+\.(?<feature>[A-Z]\w*)\b", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?<type>[A-Z]\w*)")]
    private static partial Regex TypeDeclaration();
}
