using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Api.Tests.Monitoring;

namespace Api.Tests.Docs;

/// <summary>
/// MONITORING.md's "Adding a custom metric" as a reader follows it: its C# block pasted as the file it names into a copy
/// of src/Api, the two lines it names added to Program.cs, the copy built with the repository's warnings-as-errors
/// settings and started; its series must be on /metrics before anything used it. A recipe that stops compiling, names a
/// method that does not exist, or loses its series at start-up fails here.
/// </summary>
public sealed partial class CustomMetricRecipeTests
{
    private const string AddLine = "builder.AddSignIn();";
    private const string MapLine = "app.MapSignIn();";

    [Fact]
    public async Task The_recipe_compiles_into_the_project_and_its_series_is_scraped_from_the_start()
    {
        var doc = File.ReadAllText(MonitoringConfig.RepositoryFile("MONITORING.md"));
        var section = doc[doc.IndexOf("## Adding a custom metric", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        var file = FilePath().Match(section).Groups[1].Value;
        Assert.True(file.Length > 0, "The recipe names no src/Api/… file to create.");
        var prose = Regex.Replace(section, @"\s+", " ");
        Assert.Contains($"`{AddLine}` after `builder.AddData();`", prose, StringComparison.Ordinal);
        Assert.Contains($"`{MapLine}` after `app.MapRoot();`", prose, StringComparison.Ordinal);
        var code = CSharpBlock().Match(section).Groups[1].Value;
        code = string.Join('\n', code.Split('\n').Select(line => line.StartsWith("   ", StringComparison.Ordinal) ? line[3..] : line));

        using var copyScope = TempFolder.Scoped("custom-metric-recipe");
        var copy = copyScope.Path;
        foreach (var shared in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props", ".editorconfig" })
        {
            File.Copy(MonitoringConfig.RepositoryFile(shared), Path.Combine(copy, shared));
        }

        CopySource(MonitoringConfig.RepositoryFile("src/Api"), Path.Combine(copy, "src/Api"));
        var target = Path.Combine(copy, file);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllText(target, code);
        var program = Path.Combine(copy, "src/Api/Program.cs");
        var text = File.ReadAllText(program);
        Assert.Contains("builder.AddData();", text, StringComparison.Ordinal);
        Assert.Contains("app.MapRoot();", text, StringComparison.Ordinal);
        text = text.Replace("builder.AddData();", $"builder.AddData();\n{AddLine}", StringComparison.Ordinal)
            .Replace("app.MapRoot();", $"app.MapRoot();\n{MapLine}", StringComparison.Ordinal);
        File.WriteAllText(program, $"using {Namespace().Match(code).Groups[1].Value};\n{text}");

        var output = Path.Combine(copy, "out");
        await NativeProcess.RunAsync("dotnet", ["build", Path.Combine(copy, "src/Api/Api.csproj"), "--nologo", "-v", "q", "-o", output],
            timeout: TimeSpan.FromMinutes(5));

        var data = Path.Combine(copy, "data");
        Directory.CreateDirectory(data);
        var port = FreePort.Next();
        await using var app = NativeProcess.Start("dotnet",
            [Path.Combine(output, "Api.dll"), "--urls", $"http://127.0.0.1:{port}", "--contentRoot", data,
                $"--ConnectionStrings:Sqlite=Data Source={Path.Combine(data, "app.db")}", $"--Email:PickupDirectory={Path.Combine(data, "mail")}"],
            data, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["HOME"] = data });
        await app.WaitUntilReadyAsync($"http://127.0.0.1:{port}/health/live", "the app with the recipe", TimeSpan.FromSeconds(60));

        using var http = new HttpClient();
        var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/metrics");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        var metrics = await (await http.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.Matches(new Regex(@"^signins_total\{[^}]*outcome=""success""[^}]*\} 0", RegexOptions.Multiline), metrics);
    }

    private static void CopySource(string from, string to)
    {
        foreach (var source in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, source);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "bin" or "obj" or "data")
            {
                continue;
            }

            var destination = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }
    }

    [GeneratedRegex(@"as\s+`(src/Api/[^`]+\.cs)`")]
    private static partial Regex FilePath();

    [GeneratedRegex(@"```csharp\n(.*?)\n\s*```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^namespace\s+([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex Namespace();
}
