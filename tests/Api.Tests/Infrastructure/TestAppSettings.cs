namespace Api.Tests.Infrastructure;

/// <summary>
/// The settings every test app starts with, in process (<see cref="ApiFactory"/>) or as a process of its own
/// (<see cref="TempApp"/>): its SQLite file and mail pickup folder inside the app's own folder, deleted with it, and the
/// sign-up limit off (fixtures sign up many users from one address; a test that wants the limit passes
/// RateLimit:Enabled=true). The test's own settings win.
/// </summary>
public static class TestAppSettings
{
    public static string DatabaseIn(string folder) => Path.Combine(folder, "app.db");

    public static Dictionary<string, string?> In(string folder, IReadOnlyDictionary<string, string?>? settings)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={DatabaseIn(folder)}",
            ["Email:PickupDirectory"] = Path.Combine(folder, "mail"),
            ["RateLimit:Enabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return all;
    }
}
