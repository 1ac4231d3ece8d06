using Api.Tests.Monitoring;

namespace Api.Tests.Configuration;

/// <summary>
/// README's environments as a reader gets them from <c>dotnet run --project src/Api</c>: its launch profile
/// (Properties/launchSettings.json) runs Development with appsettings.Development.json's conveniences (the job dashboard
/// open to loopback without a key); <c>--launch-profile Production</c> runs as the containers do and refuses that
/// development-only setting, naming it.
/// </summary>
public sealed class EnvironmentTests
{
    [Fact]
    public async Task Dotnet_run_is_development_with_the_local_dashboard_open()
    {
        using var folderScope = TempFolder.Scoped("api-tests-dotnet-run");
        var folder = folderScope.Path;
        var port = FreePort.Next();
        await using var app = DotnetRun(folder, port);
        await app.WaitUntilReadyAsync($"http://127.0.0.1:{port}/health/live", "dotnet run", TimeSpan.FromSeconds(180));

        using var http = new HttpClient();
        using var dashboard = await http.GetAsync($"http://127.0.0.1:{port}/hangfire");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("Hosting environment: Development", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_production_profile_refuses_the_development_only_setting()
    {
        using var folderScope = TempFolder.Scoped("api-tests-dotnet-run");
        var folder = folderScope.Path;
        await using var app = DotnetRun(folder, FreePort.Next(), "--launch-profile", "Production", "--",
            "--Queue:Dashboard:AllowLocalRequestsWithoutKey=true");
        await app.WaitForExitAsync(TimeSpan.FromSeconds(180));

        Assert.Equal(1, app.ExitCode);
        Assert.Contains("Queue:Dashboard:AllowLocalRequestsWithoutKey is for local development only", app.Output, StringComparison.Ordinal);
    }

    // Generous deadlines: dotnet run starts the CLI before the app, slow on a busy machine.
    // --no-build: the test run has built src/Api already; a second build would race the other tests using its output.
    private static NativeProcess DotnetRun(string folder, int port, params string[] options)
    {
        var separator = Array.IndexOf(options, "--");
        var runOptions = separator < 0 ? options : options[..separator];
        var appArguments = separator < 0 ? [] : options[(separator + 1)..];
        return NativeProcess.Start("dotnet",
            ["run", "--no-build", "--project", MonitoringConfig.RepositoryFile("src/Api"), .. runOptions, "--",
                "--urls", $"http://127.0.0.1:{port}", $"--ConnectionStrings:Sqlite=Data Source={Path.Combine(folder, "app.db")}",
                $"--Email:PickupDirectory={Path.Combine(folder, "mail")}", .. appArguments],
            folder, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = null, ["DOTNET_ENVIRONMENT"] = null });
    }
}
