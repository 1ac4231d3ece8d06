namespace Api.Tests.Infrastructure;

/// <summary>
/// A temporary app process, the one owner of that set-up: a folder of its own (the content root, deleted with the app),
/// the test settings of <see cref="TestAppSettings"/> in it, and the process. Several instances of one
/// service are <see cref="StartFleetAsync"/>; a second instance on the same folder (which must fail) is
/// <c>AppProcess.RunUntilExitAsync(app.Folder, app.Settings)</c>.
/// </summary>
public sealed class TempApp : IAsyncDisposable
{
    private readonly bool _nameContentRoot;
    private readonly bool _ownHome;

    private TempApp(string folder, IReadOnlyDictionary<string, string?> settings, bool nameContentRoot, bool ownHome, AppProcess process)
    {
        Folder = folder;
        Settings = settings;
        _nameContentRoot = nameContentRoot;
        _ownHome = ownHome;
        Process = process;
    }

    public string Folder { get; }
    public IReadOnlyDictionary<string, string?> Settings { get; }
    public AppProcess Process { get; private set; }
    public Uri BaseAddress => Process.BaseAddress;
    public string Output => Process.Output;
    public string Database => TestAppSettings.DatabaseIn(Folder);

    /// <param name="port">A fixed port where a test restarts the app on its address (a free one by default).</param>
    /// <param name="ownHome">HOME set to a folder inside the app's, as each container has a home of its own (ASP.NET Core's default key ring lives there).</param>
    public static async Task<TempApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, string name = "app", bool nameContentRoot = true,
        int? port = null, bool ownHome = false)
    {
        var folder = TempFolder.Create($"api-tests-{name}");
        try
        {
            var all = TestAppSettings.In(folder, settings);
            return new TempApp(folder, all, nameContentRoot, ownHome, await LaunchAsync(folder, all, port, nameContentRoot, ownHome));
        }
        catch
        {
            TempFolder.Delete(folder);
            throw;
        }
    }

    /// <summary>
    /// Several instances of one service, as a fleet runs them: each a TempApp with its own folder (SQLite file, mail),
    /// home folder (ASP.NET Core's default key ring) and port, on what <paramref name="settings"/> makes them share (a
    /// PostgreSQL database, a Redis). The first starts alone and migrates an empty database; the others then start
    /// together and find it migrated. A start that fails stops the instances already started.
    /// </summary>
    public static async Task<TempFleet> StartFleetAsync(int instances, IReadOnlyDictionary<string, string?> settings, string name = "fleet")
    {
        var apps = new List<TempApp> { await StartAsync(settings, $"{name}-0", ownHome: true) };
        var rest = Enumerable.Range(1, instances - 1).Select(i => StartAsync(settings, $"{name}-{i}", ownHome: true)).ToList();
        try
        {
            apps.AddRange(await Task.WhenAll(rest));
            return new TempFleet(apps);
        }
        catch
        {
            foreach (var started in rest.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).Prepend(apps[0]))
            {
                await started.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>SIGTERM, as a container runtime sends it, then the exit code; <see cref="RestartAsync"/> brings the app back.</summary>
    public Task<int> TerminateAsync(TimeSpan timeout) => Process.TerminateAsync(timeout);

    /// <summary>SIGKILL, as in a crash or an OOM kill; <see cref="RestartAsync"/> brings the app back.</summary>
    public void Kill() => Process.Kill();

    /// <summary>The app again, after a kill or a stop, on the same folder, settings and address.</summary>
    public async Task RestartAsync()
    {
        await Process.DisposeAsync();
        Process = await LaunchAsync(Folder, Settings, BaseAddress.Port, _nameContentRoot, _ownHome);
    }

    /// <summary>Until /health/ready answers 2xx (Degraded included): live comes first, and on a loaded machine the first checks take a while.</summary>
    public async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.HoldsAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(120), "/health/ready", () => Output);
    }

    private static Task<AppProcess> LaunchAsync(string folder, IReadOnlyDictionary<string, string?> settings, int? port, bool nameContentRoot, bool ownHome)
    {
        var home = Path.Combine(folder, "home");
        if (ownHome)
        {
            Directory.CreateDirectory(home);
        }

        return AppProcess.StartAsync(folder, settings, port, nameContentRoot, ownHome ? new Dictionary<string, string?> { ["HOME"] = home } : null);
    }

    /// <summary>A start-up that must fail, in a folder of its own: the exit code and everything the app printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string?> settings)
    {
        using var folder = TempFolder.Scoped("api-tests-start-up");
        return await AppProcess.RunUntilExitAsync(folder.Path, TestAppSettings.In(folder.Path, settings));
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        TempFolder.Delete(Folder);
    }
}

/// <summary>The instances <see cref="TempApp.StartFleetAsync"/> started; disposing it stops them all and deletes their folders.</summary>
public sealed class TempFleet(IReadOnlyList<TempApp> instances) : IAsyncDisposable
{
    public IReadOnlyList<TempApp> Instances => instances;
    public TempApp this[int index] => instances[index];

    /// <summary>Every instance's output, for failure messages.</summary>
    public string Output => string.Join("\n", instances.Select((app, i) => $"--- instance {i} ---\n{app.Output}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var app in instances)
        {
            await app.DisposeAsync();
        }
    }
}
