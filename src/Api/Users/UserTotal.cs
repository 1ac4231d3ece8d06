using Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Api.Users;

/// <summary>
/// The number of users for the list's <c>total</c>, found at most once per <see cref="UsersOptions.TotalMaxAge"/> and
/// again after every sign-up on this instance. Up to <see cref="UsersOptions.ExactTotalUpTo"/> users it is a count;
/// above, the database's own estimate, which costs the same at any size: a count reads every row (300 ms at 1,000,000
/// users on PostgreSQL, the estimate 0.1 ms: BENCHMARKS.md, growth), and this runs again after each sign-up. An estimate rather than a counter
/// kept up to date (a row or a trigger every sign-up updates): such a counter would be one hot row that every sign-up's
/// transaction locks until its commit, serialising sign-ups across all instances to buy a digit nobody pages by.
/// </summary>
internal sealed class UserTotal(UserQueries queries, IOptions<UsersOptions> options, TimeProvider time)
{
    public readonly record struct Total(int Value, bool IsEstimate);

    private sealed record Count(Total Total, long CountedAt, long Generation);

    // PostgreSQL: the planner's own arithmetic. reltuples / relpages is the rows per page the last ANALYZE (autovacuum, or
    // CREATE INDEX) saw; times the table's pages now, so the estimate follows growth between analyses. -1 before any.
    private const string PostgresEstimate = """
        SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN -1
               ELSE (c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::int))::bigint END AS "Value"
        FROM pg_class c WHERE c.oid = 'users'::regclass
        """;

    // SQLite: the largest rowid, one step down the table's b-tree. Each insert takes the largest + 1, and users are never
    // deleted through the API, so it is the count unless rows were deleted by hand (then it is above it).
    private const string SqliteEstimate = """SELECT coalesce(max(rowid), -1) AS "Value" FROM users""";

    private Count? _last;

    // Bumped by every sign-up. A count that started before a sign-up is not kept, so that a client that created a user
    // and then lists sees it in the total.
    private long _generation;

    public async Task<Total> GetAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        var generation = Interlocked.Read(ref _generation);
        var last = Volatile.Read(ref _last);
        if (last is not null && last.Generation == generation && time.GetElapsedTime(last.CountedAt) < options.Value.TotalMaxAge)
        {
            return last.Total;
        }

        // Concurrent lists that find the count stale each count once; the age starts when a count ends, so a count slower
        // than the max age is still reused by the requests after it.
        var estimate = await db.Database.SqlQueryRaw<long>(db.Database.IsNpgsql() ? PostgresEstimate : SqliteEstimate)
            .SingleAsync(cancellationToken); // one row; First would log EF Core's "First without OrderBy" warning
        var total = estimate > options.Value.ExactTotalUpTo
            ? new Total((int)Math.Min(estimate, int.MaxValue), IsEstimate: true)
            : new Total(await queries.UserCount(db, cancellationToken), IsEstimate: false);
        Volatile.Write(ref _last, new Count(total, time.GetTimestamp(), generation));
        return total;
    }

    /// <summary>Called once a user is committed.</summary>
    public void Changed() => Interlocked.Increment(ref _generation);
}
