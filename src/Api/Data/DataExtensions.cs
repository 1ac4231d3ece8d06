using Api.Configuration;
using Api.Observability;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Api.Data;

/// <summary>
/// PostgreSQL when <c>ConnectionStrings:Postgres</c> is set (docker compose sets it), otherwise SQLite under
/// <c>data/</c> so that <c>dotnet run</c> needs no server. One migration set serves both providers: the migrations
/// name no column types, so each provider maps the CLR types itself (MigrationsTests runs them on both).
/// </summary>
public static class DataExtensions
{
    public const string PostgresConnectionName = "Postgres";
    public const string SqliteConnectionName = "Sqlite";

    /// <summary>One Redis for the SignalR backplane (Realtime) and the job storage (Email); each opens its own connection.</summary>
    public const string RedisConnectionName = "Redis";

    public static IHostApplicationBuilder AddData(this IHostApplicationBuilder builder)
    {
        var postgres = builder.Configuration.GetConnectionString(PostgresConnectionName);
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            builder.Services.AddDbContext<AppDbContext>(options => options.UseNpgsql(postgres));
        }
        else
        {
            var sqlite = SqliteUnderContentRoot(
                builder.Configuration.GetConnectionString(SqliteConnectionName) ?? "Data Source=data/app.db",
                builder.Environment.ContentRootPath);
            builder.Services.AddDbContext<AppDbContext>(options => options.UseSqlite(sqlite));
            if (new SqliteConnectionStringBuilder(sqlite) is { Mode: not SqliteOpenMode.Memory, DataSource: { Length: > 0 } file } && file != ":memory:")
            {
                builder.Services.AddSingleton<IStartUpCheck>(new SqliteFileLock(file));
            }
        }

        builder.Services.AddHealthChecks().AddDbContextCheck<AppDbContext>("database", tags: [ObservabilityExtensions.ReadyTag]);
        return builder;
    }

    /// <summary>Applies pending migrations before the service takes traffic.</summary>
    public static async Task MigrateDatabaseAsync(this IHost app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AppDbContext>().Database.MigrateAsync();
    }

    /// <summary>A relative database file is placed under the content root (not the working directory), its folder created.</summary>
    private static string SqliteUnderContentRoot(string connectionString, string contentRoot)
    {
        var settings = new SqliteConnectionStringBuilder(connectionString);
        if (settings.DataSource.Length == 0 || settings.DataSource == ":memory:" || settings.Mode == SqliteOpenMode.Memory)
        {
            return connectionString;
        }

        settings.DataSource = Path.GetFullPath(settings.DataSource, contentRoot);
        Directory.CreateDirectory(Path.GetDirectoryName(settings.DataSource)!);
        return settings.ToString();
    }
}
