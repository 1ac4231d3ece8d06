using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Api.Tests.Infrastructure;

/// <summary>
/// The real app on a real Kestrel listener at 127.0.0.1 and a free port, so HTTP, WebSocket and SignalR clients talk
/// to it over sockets. Only infrastructure is swapped: settings passed in override appsettings.json, on top of
/// <see cref="TestAppSettings"/> in a temporary folder (a fresh SQLite file, the mail pickup, no sign-up limit).
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly string _folder = TempFolder.Create("api-tests-app");
    private IMeterFactory? _meters;

    public ApiFactory(IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings = TestAppSettings.In(_folder, settings);
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

    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        _meters = host.Services.GetRequiredService<IMeterFactory>();
        return host;
    }

    /// <summary>
    /// Returns once the app is gone, meters included. The app's own Program.Main disposes its host too (RunAsync's
    /// finally); when Main gets there first, base.DisposeAsync returns at once while Main is still disposing (seen in
    /// 7 of 12 disposals, the app's instruments alive 1–140 ms longer). The next in-process app's OpenTelemetry
    /// MeterProvider, which subscribes by meter name process-wide, then picks up those instruments, shares one metric
    /// stream per name with its own (streams are keyed by meter and instrument name, not by IMeterFactory) and drops
    /// that stream for good when they are disposed (open-telemetry/opentelemetry-dotnet#6412): its
    /// websocket_connections_total or queue_jobs_completed_total reads 0 from then on, whatever happens.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        using var instruments = _meters is null ? null : new AppInstruments(_meters);
        await base.DisposeAsync();
        if (instruments is not null)
        {
            await instruments.AllDisposedAsync(TimeSpan.FromSeconds(60));
        }

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
