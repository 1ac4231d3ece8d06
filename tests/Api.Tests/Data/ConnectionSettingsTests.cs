using Api.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Api.Tests.Data;

/// <summary>The connection settings the data path's speed rests on (BENCHMARKS.md, the real path).</summary>
[Collection(InProcessApp.Name)]
public sealed class ConnectionSettingsTests
{
    [Fact]
    public void Npgsql_skips_the_reset_and_auto_prepares_unless_the_connection_string_says_otherwise()
    {
        var defaults = new NpgsqlConnectionStringBuilder(DataExtensions.WithPostgresDefaults("Host=db;Database=app"));
        Assert.True(defaults.NoResetOnClose);
        Assert.Equal(50, defaults.MaxAutoPrepare);
        Assert.Equal("db", defaults.Host);

        var chosen = new NpgsqlConnectionStringBuilder(DataExtensions.WithPostgresDefaults("Host=db;No Reset On Close=false;Max Auto Prepare=0"));
        Assert.False(chosen.NoResetOnClose);
        Assert.Equal(0, chosen.MaxAutoPrepare);
    }

    [Fact]
    public void Both_npgsql_timeouts_are_the_data_command_timeout()
    {
        var settings = new NpgsqlConnectionStringBuilder(DataExtensions.PostgresConnectionString("Host=db;Database=app;Command Timeout=30", 7));

        Assert.Equal(7, settings.Timeout);
        Assert.Equal(7, settings.CommandTimeout);
        Assert.True(settings.NoResetOnClose);
    }

    [Fact]
    public async Task No_request_runs_the_dashboard_cookie_handler_unless_its_policy_asks()
    {
        await using var app = new ApiFactory();
        var schemes = app.Services.GetRequiredService<Microsoft.AspNetCore.Authentication.IAuthenticationSchemeProvider>();

        Assert.Null(await schemes.GetDefaultAuthenticateSchemeAsync());
    }

    [Fact]
    public async Task The_app_runs_sqlite_in_wal_with_a_busy_timeout()
    {
        await using var app = new ApiFactory();
        _ = app.BaseAddress; // started, so migrated
        await using var scope = app.Services.CreateAsyncScope();
        var database = scope.ServiceProvider.GetRequiredService<AppDbContext>().Database;
        await database.OpenConnectionAsync(); // through EF Core, so that its connection interceptor runs
        var connection = (SqliteConnection)database.GetDbConnection();

        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode;"));
        Assert.Equal(SqliteConnectionSettings.BusyTimeoutMilliseconds.ToString(), await ScalarAsync(connection, "PRAGMA busy_timeout;"));
        Assert.Equal("1", await ScalarAsync(connection, "PRAGMA synchronous;")); // NORMAL
    }

    private static async Task<string?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
