namespace Api.Tests.Infrastructure;

/// <summary>
/// A temporary app process, the one owner of that set-up: a folder of its own (the content root, deleted with the app),
/// a SQLite file and the mail pickup folder in it, the test's settings on top, and the process. A second instance on
/// the same folder is <c>AppProcess.StartAsync(app.Folder, app.Settings)</c>.
/// </summary>
public sealed class TempApp : IAsyncDisposable
{
    private TempApp(string folder, IReadOnlyDictionary<string, string?> settings, AppProcess process)
    {
        Folder = folder;
        Settings = settings;
        Process = process;
    }

    public string Folder { get; }
    public IReadOnlyDictionary<string, string?> Settings { get; }
    public AppProcess Process { get; }
    public Uri BaseAddress => Process.BaseAddress;
    public string Output => Process.Output;
    public string Database => DatabaseIn(Folder);

    public static async Task<TempApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, string name = "app", bool nameContentRoot = true)
    {
        var folder = TempFolder.Create($"api-tests-{name}");
        try
        {
            var all = SettingsIn(folder, settings);
            return new TempApp(folder, all, await AppProcess.StartAsync(folder, all, nameContentRoot: nameContentRoot));
        }
        catch
        {
            TempFolder.Delete(folder);
            throw;
        }
    }

    /// <summary>A start-up that must fail, in a folder of its own: the exit code and everything the app printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var folder = TempFolder.Create("api-tests-start-up");
        try
        {
            return await AppProcess.RunUntilExitAsync(folder, SettingsIn(folder, settings));
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }

    private static string DatabaseIn(string folder) => Path.Combine(folder, "app.db");

    private static Dictionary<string, string?> SettingsIn(string folder, IReadOnlyDictionary<string, string?>? settings)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={DatabaseIn(folder)}",
            ["Email:PickupDirectory"] = Path.Combine(folder, "mail"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return all;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        TempFolder.Delete(Folder);
    }
}
