using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Api.Data;

/// <summary>
/// SQLite under concurrent requests. SQLite has one writer at a time; a connection that finds the lock taken gets
/// SQLITE_BUSY at once, and Microsoft.Data.Sqlite then sleeps 150 ms before trying again, so sign-ups queued behind
/// each other (and behind the outbox dispatcher's claim) stalled for multiples of 150 ms, up to a second. A busy
/// timeout makes SQLite itself wait for the lock, in steps of a few milliseconds. WAL (set once on the database file,
/// see <see cref="DataExtensions.MigrateDatabaseAsync"/>) lets reads go on while a write commits, and with WAL
/// <c>synchronous = NORMAL</c> syncs the log at checkpoints instead of at every commit: a commit survives the process
/// crashing, only not the machine losing power (SQLite's own advice for WAL; PostgreSQL is the production database).
/// Without it every sign-up waited its turn for an fsync (≈ 7.5 ms on this machine's disk): 27 sign-ups/s at most.
/// </summary>
internal sealed class SqliteConnectionSettings : DbConnectionInterceptor
{
    /// <summary>How long a write waits for the lock before it fails; well above any one transaction of this service.</summary>
    public const int BusyTimeoutMilliseconds = 5000;

    private static readonly string Pragma = $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL;";

    public static readonly SqliteConnectionSettings Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
