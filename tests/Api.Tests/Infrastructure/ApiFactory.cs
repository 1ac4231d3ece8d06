using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Api.Tests.Infrastructure;

/// <summary>
/// The real app on a real Kestrel listener at 127.0.0.1 and a free port, so HTTP, WebSocket and SignalR clients talk
/// to it over sockets. Only infrastructure is swapped: settings passed in override appsettings.json, the default
/// database is a fresh SQLite file in a temporary folder, and the sign-up rate limit is off unless a test sets it.
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly string _folder = TempFolder.Create("api-tests-app");

    public ApiFactory(IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(_folder, "app.db")}",
            // Fixtures sign up many users from one address; the security tests turn the limit back on.
            ["RateLimit:Enabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
    }

    /// <summary>Where the app listens, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            return ClientOptions.BaseAddress;
        }
    }

    /// <summary>A folder of this app instance's own, deleted with it.</summary>
    public string Folder => _folder;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
        TempFolder.Delete(_folder);
    }
}

/// <summary>
/// The app with its default settings (SQLite), as a class fixture: xunit builds a fixture through a constructor without
/// parameters, which <see cref="ApiFactory"/> does not have. Each test class that takes it gets an app of its own.
/// </summary>
public sealed class DefaultApp() : ApiFactory;

/// <summary>The app on a fresh database of the shared PostgreSQL server, as a class fixture (one database per test class).</summary>
public sealed class PostgresApp() : ApiFactory(new Dictionary<string, string?>
{
    ["ConnectionStrings:Postgres"] = PostgresServer.SharedAsync().GetAwaiter().GetResult().CreateDatabaseAsync("app").GetAwaiter().GetResult(),
});
