using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Api.Data;

/// <summary>Which unique index a failed save broke, on either database, without a look-up.</summary>
public static class UniqueIndexViolation
{
    // SQLITE_CONSTRAINT_UNIQUE; a primary key breaks with SQLITE_CONSTRAINT_PRIMARYKEY (1555) instead.
    private const int SqliteUniqueIndex = 2067;

    /// <summary>
    /// Whether the save inserted or updated a row that the unique index <paramref name="index"/> refused. PostgreSQL names
    /// the index; SQLite names only the columns, so there any unique index that is not a primary key counts.
    /// </summary>
    public static bool Broke(this DbUpdateException exception, string index) => exception.InnerException switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation && postgres.ConstraintName == index,
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode == SqliteUniqueIndex,
        _ => false,
    };
}
