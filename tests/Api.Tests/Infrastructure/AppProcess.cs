namespace Api.Tests.Infrastructure;

/// <summary>
/// The built app (Api.dll) as a separate operating-system process, for what an in-process host cannot show: a
/// <c>kill -9</c>, a second instance, listener settings. Settings are passed as command-line arguments.
/// </summary>
public sealed class AppProcess : ServerProcess
{
    private AppProcess(Started started) : base(started)
    {
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <param name="contentRoot">The working directory, also passed as <c>--contentRoot</c> unless <paramref name="nameContentRoot"/> is false (as a user starting the published app from another folder would).</param>
    /// <param name="environment">Extra environment variables, e.g. <c>HOME</c>, so that each instance has a home folder of its own as each container has.</param>
    public static async Task<AppProcess> StartAsync(string contentRoot, IReadOnlyDictionary<string, string?> settings, int? port = null, bool nameContentRoot = true,
        IReadOnlyDictionary<string, string?>? environment = null) =>
        new(await LaunchAsync("the app", (_, chosen) => Launch(contentRoot, settings, new Uri($"http://127.0.0.1:{chosen}/"), nameContentRoot, environment),
            // Generous: with test classes in parallel on two busy cores a cold start-up has taken over a minute.
            "/health/live", TimeSpan.FromSeconds(180), port));

    /// <summary>Runs the app until it exits by itself (a start-up that must fail): its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(string contentRoot, IReadOnlyDictionary<string, string?> settings)
    {
        await using var process = Launch(contentRoot, settings, new Uri($"http://127.0.0.1:{FreePort.Next()}/"));
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, process.Output);
    }

    private static NativeProcess Launch(string contentRoot, IReadOnlyDictionary<string, string?> settings, Uri address, bool nameContentRoot = true,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var arguments = new List<string> { Path.Combine(AppContext.BaseDirectory, "Api.dll"), "--urls", address.ToString().TrimEnd('/') };
        if (nameContentRoot)
        {
            arguments.AddRange(["--contentRoot", contentRoot]);
        }

        foreach (var (key, value) in settings)
        {
            arguments.Add($"--{key}={value}");
        }

        var variables = new Dictionary<string, string?> { ["DOTNET_ENVIRONMENT"] = "Production", ["ASPNETCORE_ENVIRONMENT"] = "Production" };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[key] = value;
        }

        return NativeProcess.Start("dotnet", arguments, contentRoot, variables);
    }

    /// <summary>SIGTERM, as a container runtime or Kubernetes sends it, then waits for the exit: the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Signals.Terminate(Id);
        await Process.WaitForExitAsync(timeout);
        return Process.ExitCode;
    }
}

public static class HttpClientJsonExtensions
{
    public static async Task<T> ReadJsonAsync<T>(this HttpResponseMessage response)
    {
        var value = await response.Content.ReadFromJsonAsync<T>();
        return value ?? throw new InvalidOperationException($"Expected a {typeof(T).Name} body, got null.");
    }
}
