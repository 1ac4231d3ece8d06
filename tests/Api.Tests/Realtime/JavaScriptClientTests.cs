using System.Text.RegularExpressions;
using Api.Tests.Monitoring;

namespace Api.Tests.Realtime;

/// <summary>
/// README.md's JavaScript snippet as written (only the address changed), run by Node with the real
/// <c>@microsoft/signalr</c> client (tests/signalr-js, installed by ./test.sh from its lock file): it hears a broadcast,
/// the instance restarts (SIGTERM, drained, started again on its address), and withAutomaticReconnect() brings it back
/// to hear broadcasts again.
/// </summary>
public sealed partial class JavaScriptClientTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly string ClientFolder = MonitoringConfig.RepositoryFile("tests/signalr-js");
    private readonly string _script = Path.Combine(ClientFolder, $".readme-snippet-{Guid.NewGuid():N}.mjs");
    private TempApp _app = null!;

    public async Task InitializeAsync() =>
        _app = await TempApp.StartAsync(new Dictionary<string, string?> { ["Shutdown:DrainSeconds"] = "1" }, name: "signalr-js");

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        File.Delete(_script);
    }

    [Fact]
    public async Task The_README_snippet_reconnects_after_an_instance_restart_and_hears_broadcasts_again()
    {
        Assert.True(File.Exists(Path.Combine(ClientFolder, "node_modules", "@microsoft", "signalr", "package.json")),
            "tests/signalr-js has no node_modules: run ./test.sh, or npm ci --prefix tests/signalr-js (Node.js 20+)");
        var snippet = ReadmeSnippet();
        Assert.Contains(".withAutomaticReconnect()", snippet, StringComparison.Ordinal);
        var address = new Uri(_app.BaseAddress, "/ws").ToString();
        File.WriteAllText(_script, snippet.Replace("http://localhost:3000/ws", address, StringComparison.Ordinal) + """

            connection.onreconnecting(error => console.log("reconnecting:", error?.message));
            connection.onreconnected(() => console.log("reconnected"));
            connection.onclose(error => console.log("closed:", error?.message));
            """);
        var node = Binaries.Find("node", "nodejs", "/usr/bin/node");
        await using var client = NativeProcess.Start(node, [_script], ClientFolder);
        using var http = new HttpClient { BaseAddress = _app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        await Eventually.HoldsAsync(() => client.Output.Contains("pong", StringComparison.Ordinal), Patience, "the snippet's Ping answered", () => client.Output);
        await HearsASignUpAsync(http, client);

        var exit = await _app.TerminateAsync(Patience);
        Assert.True(exit == 0, $"exit {exit}\n--- app ---\n{_app.Output}\n--- client ---\n{client.Output}");
        // Reconnections before the exit went to the draining instance (the only one here), which sent them on again.
        var reconnectedBefore = Reconnections(client);
        await _app.RestartAsync();

        await Eventually.HoldsAsync(() => Reconnections(client) > reconnectedBefore, Patience, "the client reconnected",
            () => $"--- client ---\n{client.Output}\n--- app ---\n{_app.Output}");
        await HearsASignUpAsync(http, client);
        Assert.DoesNotContain("closed:", client.Output, StringComparison.Ordinal);
    }

    private static int Reconnections(NativeProcess client) =>
        System.Text.RegularExpressions.Regex.Count(client.Output, "^reconnected$", System.Text.RegularExpressions.RegexOptions.Multiline);

    private static async Task HearsASignUpAsync(HttpClient http, NativeProcess client)
    {
        var user = await http.CreateUserAsync("Js Reader");
        await Eventually.HoldsAsync(() => client.Output.Contains($"new user {user.Id}", StringComparison.Ordinal), Patience,
            $"the snippet to print the sign-up {user.Id}", () => client.Output);
    }

    /// <summary>The js block of README.md's Real-time section.</summary>
    private static string ReadmeSnippet()
    {
        var readme = File.ReadAllText(MonitoringConfig.RepositoryFile("README.md"));
        var section = readme[readme.IndexOf("## Real-time (SignalR)", StringComparison.Ordinal)..];
        return JsBlock().Match(section) is { Success: true } block ? block.Groups[1].Value : throw new InvalidOperationException("README.md's Real-time section has no js block");
    }

    [GeneratedRegex(@"```js\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex JsBlock();
}
