// Mutation test of prometheus/alerts.yml: each small change a reviewer could make by mistake must fail a unit test
// (prometheus/*.test.yml). For every alerting and recording rule it makes one mutant per
//   - number in the expression, nudged 10 % down and 10 % up (0 becomes 1 and -1),
//   - range or subquery window, halved and doubled,
//   - `for`, halved and doubled,
//   - operand of an `and`, `or` or `unless`, removed (each side in turn),
//   - comparison, flipped (> and <, >= and <=, == and !=),
// checks it with `promtool check rules`, and runs the unit tests on it: a mutant is killed when a test fails.
// Prints every survivor and "N mutants, N killed"; exits 1 on any survivor.
// Test groups are independent, so each runs as a file of its own, those that name the mutated rule first, until one
// fails: a killed mutant costs one small promtool run instead of the whole suite.
//
// Run from the repository root: dotnet run tools/rules/mutate-rules.cs   (./test.sh does; a first argument names another
// folder holding alerts.yml and its tests, further ones the only rules to mutate: a rule just added is proven in
// seconds, where every rule's mutants take minutes, and the unmutated tests still run in full)
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

var folder = args.Length > 0 ? args[0] : "prometheus";
var only = args.Skip(1).ToHashSet(StringComparer.Ordinal);
var lines = File.ReadAllLines(Path.Combine(folder, "alerts.yml"));
var testFiles = Directory.GetFiles(folder, "*.test.yml").Order(StringComparer.Ordinal).ToList();
var groups = testFiles.SelectMany(TestGroups.Split).ToList();
var work = Directory.CreateTempSubdirectory("mutate-rules-");
var parallelism = Math.Max(2, Environment.ProcessorCount);

try
{
    // The tests pass on the rules as they are (test.sh's only run of them unmutated), group by group in parallel; how
    // long each group took orders the groups tried on a mutant, cheapest first.
    var original = Write(lines, "original");
    var baseline = groups.Select((text, index) => (text, index)).AsParallel().WithDegreeOfParallelism(parallelism)
        .Select(g =>
        {
            var clock = Stopwatch.StartNew();
            var result = Promtool(original, "test", GroupFile(original, g.index, g.text));
            return (g.index, result, clock.Elapsed);
        })
        .ToList();
    if (baseline.Where(b => !b.result.Ok).OrderBy(b => b.index).Select(b => b.result.Output).ToList() is { Count: > 0 } failures)
    {
        Console.Error.WriteLine($"The tests fail on the unmutated rules:\n{string.Join("\n", failures)}");
        return 1;
    }

    var cost = baseline.ToDictionary(b => b.index, b => b.Elapsed);
    Console.WriteLine($"promtool test rules: the {groups.Count} test groups of {testFiles.Count} files pass on the unmutated rules");

    var rules = Rules.Parse(lines).ToList();
    if (only.Except(rules.Select(r => r.Name)).ToList() is { Count: > 0 } unknown)
    {
        Console.Error.WriteLine($"No rule named {string.Join(", ", unknown)} in {Path.Combine(folder, "alerts.yml")}");
        return 1;
    }

    var mutants = rules.Where(rule => only.Count == 0 || only.Contains(rule.Name)).SelectMany(rule => Mutants.Of(rule, lines)).ToList();
    // A change to a recording rule shows in the tests of the rules that read it: a rule's "readers" are it and every
    // rule whose expression names it or one of its readers, so the groups that test any of them are tried first.
    var readers = rules.Select(r => r.Name).Distinct().ToDictionary(name => name, name => Rules.Readers(name, rules, lines), StringComparer.Ordinal);
    var dirs = mutants.Select((m, i) => Write(m.Lines, $"m{i}")).ToList();
    // One promtool process checks every mutant (a mutant that is not valid PromQL would be "killed" for nothing).
    var check = Promtool(work.FullName, "check", [.. dirs.Select(d => Path.Combine(Path.GetFileName(d), "alerts.yml"))]);
    var valid = Regex.Matches(check.Output, @"Checking (\S+)/alerts\.yml\s+SUCCESS").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    var results = new (Mutant Mutant, string Outcome)[mutants.Count];
    // The group that killed a rule's last mutant usually kills its next one too (a recording rule read by one alert's
    // tests, say): try it first, then the groups that name the rule or a reader of it, then the rest; within each, the
    // cheapest first.
    var lastKiller = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
    Parallel.For(0, mutants.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, i =>
    {
        var rule = mutants[i].Rule;
        var killer = lastKiller.TryGetValue(rule, out var k) ? k : -1;
        var ordered = groups.Select((text, index) => (text, index))
            .OrderBy(g => g.index == killer ? 0 : readers[rule].Any(name => g.text.Contains(name, StringComparison.Ordinal)) ? 1 : 2).ThenBy(g => cost[g.index]);
        var outcome = "survived";
        if (!valid.Contains($"m{i}"))
        {
            outcome = "invalid";
        }
        else if (ordered.FirstOrDefault(g => !Promtool(dirs[i], "test", GroupFile(dirs[i], g.index, g.text)).Ok) is { text: not null } failing)
        {
            outcome = "killed";
            lastKiller[rule] = failing.index;
        }

        results[i] = (mutants[i], outcome);
    });

    foreach (var (mutant, outcome) in results.Where(r => r.Outcome != "killed"))
    {
        Console.WriteLine($"{outcome.ToUpperInvariant()}: {mutant.Rule}: {mutant.Change}");
    }

    var killed = results.Count(r => r.Outcome == "killed");
    Console.WriteLine($"{mutants.Count} mutants, {killed} killed");
    return killed == mutants.Count ? 0 : 1;
}
finally
{
    work.Delete(recursive: true);
}

// A folder holding the rules as given and the unchanged test files beside them (the tests name `alerts.yml`).
string Write(IEnumerable<string> ruleLines, string name)
{
    var dir = Directory.CreateDirectory(Path.Combine(work.FullName, name)).FullName;
    File.WriteAllLines(Path.Combine(dir, "alerts.yml"), ruleLines);
    foreach (var file in testFiles)
    {
        File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
    }

    return dir;
}

static string GroupFile(string dir, int index, string text)
{
    var name = $"group{index}.test.yml";
    File.WriteAllText(Path.Combine(dir, name), text);
    return name;
}

static (bool Ok, string Output) Promtool(string dir, string mode, params string[] files)
{
    var info = new ProcessStartInfo("promtool") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var argument in new[] { mode, "rules" }.Concat(files))
    {
        info.ArgumentList.Add(argument);
    }

    using var process = Process.Start(info)!;
    var output = process.StandardOutput.ReadToEndAsync();
    var error = process.StandardError.ReadToEnd();
    process.WaitForExit();
    return (process.ExitCode == 0, output.Result + error);
}

/// <summary>A test file cut into files of one test group each, every one with the file's header (rule files, interval).</summary>
internal static class TestGroups
{
    public static IEnumerable<string> Split(string file)
    {
        var lines = File.ReadAllLines(file);
        var tests = Array.FindIndex(lines, l => l.StartsWith("tests:", StringComparison.Ordinal));
        var header = string.Join("\n", lines[..(tests + 1)]);
        var starts = Enumerable.Range(tests + 1, lines.Length - tests - 1).Where(i => lines[i].StartsWith("  - ", StringComparison.Ordinal)).ToList();
        for (var g = 0; g < starts.Count; g++)
        {
            var end = g + 1 < starts.Count ? starts[g + 1] : lines.Length;
            yield return header + "\n" + string.Join("\n", lines[starts[g]..end]) + "\n";
        }
    }
}

/// <summary>One rule of alerts.yml: its name, the lines of its expression and of its `for`.</summary>
internal sealed record Rule(string Name, int ExprFirst, int ExprLast, string Indent, bool Block, int? ForLine);

internal sealed record Mutant(string Rule, string Change, string[] Lines);

internal static partial class Rules
{
    /// <summary>The rule's name and the names of the rules that read it, directly or through others.</summary>
    public static HashSet<string> Readers(string name, IReadOnlyList<Rule> rules, string[] lines)
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { name };
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var rule in rules.Where(r => !names.Contains(r.Name)))
            {
                var expression = string.Join("\n", lines[rule.ExprFirst..(rule.ExprLast + 1)]);
                if (names.Any(n => Regex.IsMatch(expression, $@"(?<![\w:]){Regex.Escape(n)}(?![\w:])")))
                {
                    grew = names.Add(rule.Name) || grew;
                }
            }
        }

        return names;
    }

    public static IEnumerable<Rule> Parse(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var start = RuleStart().Match(lines[i]);
            if (!start.Success)
            {
                continue;
            }

            var end = i + 1;
            while (end < lines.Length && !RuleStart().IsMatch(lines[end]) && !GroupStart().IsMatch(lines[end]))
            {
                end++;
            }

            int? forLine = null;
            Rule? rule = null;
            for (var j = i; j < end; j++)
            {
                if (For().IsMatch(lines[j]))
                {
                    forLine = j;
                }

                var expr = Expr().Match(lines[j]);
                if (expr.Success && expr.Groups["value"].Value == "|")
                {
                    var last = j + 1;
                    var indent = Regex.Match(lines[j + 1], @"^\s*").Value;
                    while (last + 1 < end && lines[last + 1].StartsWith(indent, StringComparison.Ordinal) && lines[last + 1].Trim().Length > 0)
                    {
                        last++;
                    }

                    rule = new Rule(start.Groups["name"].Value, j + 1, last, indent, true, null);
                }
                else if (expr.Success)
                {
                    rule = new Rule(start.Groups["name"].Value, j, j, expr.Groups["prefix"].Value, false, null);
                }
            }

            yield return (rule ?? throw new InvalidOperationException($"No expr for {start.Groups["name"].Value}")) with { ForLine = forLine };
            i = end - 1;
        }
    }

    public static string Expression(Rule rule, string[] lines) => rule.Block
        ? string.Join("\n", lines[rule.ExprFirst..(rule.ExprLast + 1)].Select(l => l[rule.Indent.Length..]))
        : lines[rule.ExprFirst][rule.Indent.Length..];

    /// <summary>The file with the rule's expression replaced.</summary>
    public static string[] WithExpression(Rule rule, string[] lines, string expression)
    {
        var replacement = rule.Block
            ? expression.Split('\n').Where(l => l.Trim().Length > 0).Select(l => rule.Indent + l.Trim())
            : [rule.Indent + expression.Trim()];
        return [.. lines[..rule.ExprFirst], .. replacement, .. lines[(rule.ExprLast + 1)..]];
    }

    [GeneratedRegex(@"^\s*- (alert|record): (?<name>\S+)")]
    private static partial Regex RuleStart();

    [GeneratedRegex(@"^\s*- name: ")]
    private static partial Regex GroupStart();

    [GeneratedRegex(@"^(?<prefix>\s*expr: )(?<value>.*)$")]
    private static partial Regex Expr();

    [GeneratedRegex(@"^\s*for: ")]
    private static partial Regex For();
}

internal static partial class Mutants
{
    public static IEnumerable<Mutant> Of(Rule rule, string[] lines)
    {
        var expression = Rules.Expression(rule, lines);
        var code = CodeMask(expression);
        Mutant Expr(string change, string mutated) => new(rule.Name, change, Rules.WithExpression(rule, lines, mutated));

        foreach (Match number in Number().Matches(expression))
        {
            if (!code[number.Index] || InsideBrackets(expression, number.Index) || expression[..number.Index].EndsWith("vector(", StringComparison.Ordinal))
            {
                continue; // label values, windows, and the Watchdog's constant (its value is never read).
            }

            var value = double.Parse(number.Value, CultureInfo.InvariantCulture);
            foreach (var nudged in value == 0 ? new[] { 1.0, -1.0 } : [value * 0.9, value * 1.1])
            {
                var text = nudged.ToString("G6", CultureInfo.InvariantCulture);
                yield return Expr($"{number.Value} -> {text} (at {Context(expression, number.Index)})", Replace(expression, number.Index, number.Length, text));
            }
        }

        foreach (Match window in Window().Matches(expression))
        {
            var duration = window.Groups["duration"];
            var seconds = Seconds(duration.Value);
            foreach (var changed in new[] { seconds / 2, seconds * 2 })
            {
                yield return Expr($"[{duration.Value}] -> [{Duration(changed)}] (at {Context(expression, window.Index)})",
                    Replace(expression, duration.Index, duration.Length, Duration(changed)));
            }
        }

        foreach (Match op in SetOperator().Matches(expression))
        {
            if (!code[op.Index])
            {
                continue;
            }

            var (left, right) = Operands(expression, code, op);
            yield return Expr($"removed the left side of `{op.Groups["op"].Value}`: {Squash(expression[left..op.Index])}",
                expression[..left] + expression[(op.Index + op.Length)..]);
            yield return Expr($"removed the right side of `{op.Groups["op"].Value}`: {Squash(expression[(op.Index + op.Length)..right])}",
                expression[..op.Index] + expression[right..]);
        }

        foreach (Match comparison in Comparison().Matches(expression))
        {
            if (!code[comparison.Index])
            {
                continue;
            }

            var flipped = comparison.Value switch { ">" => "<", "<" => ">", ">=" => "<=", "<=" => ">=", "==" => "!=", _ => "==" };
            yield return Expr($"`{comparison.Value}` -> `{flipped}` (at {Context(expression, comparison.Index)})",
                Replace(expression, comparison.Index, comparison.Length, flipped));
        }

        if (rule.ForLine is int forLine)
        {
            var prefix = lines[forLine][..(lines[forLine].IndexOf("for:", StringComparison.Ordinal) + 4)];
            var current = lines[forLine][prefix.Length..].Trim();
            foreach (var changed in new[] { Seconds(current) / 2, Seconds(current) * 2 })
            {
                var mutated = (string[])lines.Clone();
                mutated[forLine] = $"{prefix} {Duration(changed)}";
                yield return new Mutant(rule.Name, $"for {current} -> {Duration(changed)}", mutated);
            }
        }
    }

    /// <summary>
    /// The operands of a set operator, by PromQL's precedence (`and`/`unless` bind tighter than `or`; all are
    /// left-associative): from the start of the left operand to the end of the right one, within the enclosing parentheses.
    /// </summary>
    private static (int Left, int Right) Operands(string expression, bool[] code, Match op)
    {
        var isOr = op.Groups["op"].Value == "or";
        var depth = 0;
        var left = op.Index;
        while (left > 0)
        {
            var c = expression[left - 1];
            if (code[left - 1] && c == ')') depth++;
            if (code[left - 1] && c == '(' && depth-- == 0) break;
            if (depth == 0 && !isOr && code[left - 1] && WordEndsAt(expression, left, "or")) break;
            left--;
        }

        depth = 0;
        var right = op.Index + op.Length;
        while (right < expression.Length)
        {
            var c = expression[right];
            if (code[right] && c == '(') depth++;
            if (code[right] && c == ')' && depth-- == 0) break;
            if (depth == 0 && code[right] && right > 0 && !char.IsLetterOrDigit(expression[right - 1]) &&
                (WordStartsAt(expression, right, "or") || (!isOr && (WordStartsAt(expression, right, "and") || WordStartsAt(expression, right, "unless")))))
            {
                break;
            }

            right++;
        }

        return (left, right);
    }

    private static bool WordStartsAt(string s, int i, string word) =>
        string.CompareOrdinal(s, i, word, 0, word.Length) == 0 && (i + word.Length == s.Length || !char.IsLetterOrDigit(s[i + word.Length]) && s[i + word.Length] != '_');

    private static bool WordEndsAt(string s, int end, string word) =>
        end >= word.Length && string.CompareOrdinal(s, end - word.Length, word, 0, word.Length) == 0 &&
        (end - word.Length == 0 || !char.IsLetterOrDigit(s[end - word.Length - 1]) && s[end - word.Length - 1] != '_') &&
        (end == s.Length || !char.IsLetterOrDigit(s[end]) && s[end] != '_');

    /// <summary>True where the character is PromQL code, false inside label matchers ({...}) and string literals.</summary>
    private static bool[] CodeMask(string expression)
    {
        var mask = new bool[expression.Length];
        var braces = 0;
        var quoted = false;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (quoted)
            {
                if (c == '"' && expression[i - 1] != '\\') quoted = false;
                continue;
            }

            if (c == '"') { quoted = true; continue; }
            if (c == '{') { braces++; continue; }
            if (c == '}') { braces--; continue; }
            mask[i] = braces == 0;
        }

        return mask;
    }

    private static bool InsideBrackets(string s, int i) => s.LastIndexOf('[', i) > s.LastIndexOf(']', i);

    private static string Replace(string s, int index, int length, string with) => s[..index] + with + s[(index + length)..];

    private static string Context(string s, int index) => Squash(s.Substring(Math.Max(0, index - 30), Math.Min(45, s.Length - Math.Max(0, index - 30))));

    private static string Squash(string s) => Regex.Replace(s.Trim(), @"\s+", " ");

    private static long Seconds(string duration) =>
        DurationPart().Matches(duration).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * m.Groups[2].Value switch
        {
            "s" => 1, "m" => 60, "h" => 3600, "d" => 86400, "w" => 604800, _ => throw new FormatException(duration),
        });

    private static string Duration(long seconds) =>
        seconds % 86400 == 0 ? $"{seconds / 86400}d" : seconds % 3600 == 0 ? $"{seconds / 3600}h" : seconds % 60 == 0 ? $"{seconds / 60}m" : $"{seconds}s";

    [GeneratedRegex(@"(?<![\w.])\d+(\.\d+)?(?![\w.])")]
    private static partial Regex Number();

    [GeneratedRegex(@"\[(?<duration>(\d+[smhdw])+)(:[^\]]*)?\]")]
    private static partial Regex Window();

    [GeneratedRegex(@"\b(?<op>and|or|unless)\b(\s+(on|ignoring)\s*\([^)]*\))?(\s+group_(left|right)\s*(\([^)]*\))?)?")]
    private static partial Regex SetOperator();

    [GeneratedRegex(@">=|<=|==|!=|>|<")]
    private static partial Regex Comparison();

    [GeneratedRegex(@"(\d+)([smhdw])")]
    private static partial Regex DurationPart();
}
