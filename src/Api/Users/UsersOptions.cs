namespace Api.Users;

/// <summary>Settings under <c>Users</c>.</summary>
public sealed class UsersOptions
{
    public const string Section = "Users";

    /// <summary>
    /// How old the <c>total</c> of <c>GET /api/users</c> may be. Counting every row is the list's main cost on PostgreSQL
    /// (BENCHMARKS.md, the real path), so the count is reused for this long; this instance's own sign-ups show at once,
    /// another instance's within this time. Zero counts on every request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan TotalMaxAge { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Up to this many users (by the database's estimate) <c>total</c> is a count; above, the estimate itself
    /// (<c>totalIsEstimate: true</c>), which costs the same at any size (UserTotal.cs). A count of 10,000 rows takes about
    /// a millisecond on PostgreSQL.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int ExactTotalUpTo { get; set; } = 10_000;
}
