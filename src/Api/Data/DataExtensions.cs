using Api.Observability;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

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

    /// <summary>One Redis for the SignalR backplane (Realtime) and the job storage (Queue); each opens its own connection.</summary>
    public const string RedisConnectionName = "Redis";

    public static IHostApplicationBuilder AddData(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DataOptions>(DataOptions.Section);
        var postgres = builder.Configuration.GetConnectionString(PostgresConnectionName);
        // Pooled contexts: a request leases a reset context instead of building one (and its services) from scratch.
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            builder.Services.AddDbContextPool<AppDbContext>((services, options) =>
            {
                var timeout = services.GetRequiredService<IOptions<DataOptions>>().Value.CommandTimeoutSeconds;
                options.UseNpgsql(PostgresConnectionString(postgres, timeout), npgsql => npgsql.CommandTimeout(timeout)
                    // The pool's name labels its metrics (db_client_connection_*); unnamed, it is the whole connection string.
                    .ConfigureDataSource(source => source.Name = "app"));
                LogFailuresWhereTheyAreHandled(options);
            });
        }
        else
        {
            var sqlite = SqliteUnderContentRoot(
                builder.Configuration.GetConnectionString(SqliteConnectionName) ?? "Data Source=data/app.db",
                builder.Environment.ContentRootPath);
            // Not Data:CommandTimeoutSeconds: SQLite is a local file, and its command timeout is how long a write waits
            // for the file's one write lock, which a burst of sign-ups needs longer than a request should wait on a server.
            builder.Services.AddDbContextPool<AppDbContext>(options =>
                LogFailuresWhereTheyAreHandled(options.UseSqlite(sqlite).AddInterceptors(SqliteConnectionSettings.Instance)));
            if (new SqliteConnectionStringBuilder(sqlite) is { Mode: not SqliteOpenMode.Memory, DataSource: { Length: > 0 } file } && file != ":memory:")
            {
                builder.Services.AddSingleton(new SqliteFileLock(file));
            }
        }

        builder.Services.AddExceptionHandler<DatabaseUnavailableExceptionHandler>();
        builder.Services.AddReadinessCheck<DatabaseHealthCheck>("database");
        return builder;
    }

    /// <summary>
    /// A failed command or save is logged by whoever handles it, once: a taken address is a 409 (the unique index decides,
    /// UsersApi), an outage a 503 warning (<see cref="DatabaseUnavailableExceptionHandler"/>), the outbox's and the health
    /// check's their own lines, anything else the unhandled-exception error. EF Core's own Error lines (the command, then
    /// the save) would add two errors to each, so every duplicate sign-up read as a failure in the logs.
    /// </summary>
    private static DbContextOptionsBuilder LogFailuresWhereTheyAreHandled(DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(warnings => warnings.Log(
            (Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.CommandError, LogLevel.Debug),
            (Microsoft.EntityFrameworkCore.Diagnostics.CoreEventId.SaveChangesFailed, LogLevel.Debug)));

    /// <summary>Whether the database outlives the process (PostgreSQL, or a SQLite file): what is kept in it survives a restart.</summary>
    public static bool IsPersistent(IConfiguration configuration, IHostEnvironment environment)
    {
        if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString(PostgresConnectionName)))
        {
            return true;
        }

        var sqlite = new SqliteConnectionStringBuilder(configuration.GetConnectionString(SqliteConnectionName) ?? "Data Source=data/app.db");
        return sqlite is { Mode: not SqliteOpenMode.Memory, DataSource: { Length: > 0 } file } && file != ":memory:";
    }

    /// <summary>
    /// On SQLite, takes the database file's lock (<see cref="SqliteFileLock"/>): false, with one line on standard error,
    /// when another instance holds it.
    /// </summary>
    public static bool HoldsItsDatabaseFile(this IHost app) =>
        app.Services.GetService<SqliteFileLock>() is not { } fileLock || !ConfigurationErrors.Report(fileLock.Hold());

    /// <summary>Applies pending migrations before the service takes traffic.</summary>
    public static async Task MigrateDatabaseAsync(this IHost app)
    {
        // Tracing would start with the host, after this. EF Core's command logger caches for a second whether anyone
        // listens, and the pooled context that migrates goes back to the pool: the first requests' commands inherited
        // "nobody" and their database spans were lost (TracingTests, intermittently). Started now, tracing listens first.
        _ = app.Services.GetService<OpenTelemetry.Trace.TracerProvider>();
        // On an empty PostgreSQL database EF Core first reads a migrations history table that does not exist yet: at Debug
        // (LogFailuresWhereTheyAreHandled), not an error on every fresh deploy; a migration that really fails still throws
        // and stops start-up.
        var options = app.Services.GetRequiredService<DbContextOptions<AppDbContext>>();
        await using var context = new AppDbContext(options);
        var database = context.Database;
        // Data:CommandTimeoutSeconds bounds what a request waits; a migration (an index on a big table) may need longer.
        database.SetCommandTimeout(TimeSpan.FromMinutes(10));
        await database.MigrateAsync();
        if (database.IsSqlite())
        {
            // Persistent in the file: from now on readers and the one writer no longer block each other.
            await database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;");
        }
    }

    /// <summary>
    /// The configured connection string with <see cref="WithPostgresDefaults"/> and <c>Data:CommandTimeoutSeconds</c> as
    /// both timeouts: opening a connection waits on the server's reply too (a hung server accepts the socket and says
    /// nothing), and the connection's own command timeout equals EF Core's, because when the two differ Npgsql sets the
    /// socket's send timeout (a setsockopt system call) back and forth on every command, ≈ 5 % of a GET's CPU.
    /// </summary>
    internal static string PostgresConnectionString(string configured, int timeoutSeconds) => WithPostgresDefaults(
        new NpgsqlConnectionStringBuilder(configured) { Timeout = timeoutSeconds, CommandTimeout = timeoutSeconds }.ConnectionString);

    /// <summary>
    /// Npgsql settings for a service that keeps no session state (no SET, temporary tables, LISTEN or advisory locks):
    /// <c>No Reset On Close</c> skips the <c>DISCARD ALL</c> that otherwise runs on every pooled connection's next use,
    /// and <c>Max Auto Prepare</c> lets Npgsql prepare the statements each connection repeats, so PostgreSQL parses and
    /// plans them once per connection instead of once per request. Keys set in the connection string win: later keys
    /// override earlier ones.
    /// </summary>
    internal static string WithPostgresDefaults(string connectionString) =>
        $"No Reset On Close=true;Max Auto Prepare=50;Auto Prepare Min Usages=2;{connectionString}";

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
