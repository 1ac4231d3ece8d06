using Api.Data;
using Microsoft.Extensions.Options;

namespace Api.Users;

/// <summary>
/// The number of users for the list's <c>total</c>, counted at most once per <see cref="UsersOptions.TotalMaxAge"/> and
/// recounted after every sign-up on this instance.
/// </summary>
internal sealed class UserTotal(UserQueries queries, IOptions<UsersOptions> options, TimeProvider time)
{
    private sealed record Count(int Total, long CountedAt, long Generation);

    private Count? _last;

    // Bumped by every sign-up. A count that started before a sign-up is not kept, so that a client that created a user
    // and then lists sees it in the total.
    private long _generation;

    public async Task<int> GetAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        var generation = Interlocked.Read(ref _generation);
        var last = Volatile.Read(ref _last);
        if (last is not null && last.Generation == generation && time.GetElapsedTime(last.CountedAt) < options.Value.TotalMaxAge)
        {
            return last.Total;
        }

        // Concurrent lists that find the count stale each count once; the age starts when a count ends, so a count slower
        // than the max age is still reused by the requests after it.
        var total = await queries.UserCount(db, cancellationToken);
        Volatile.Write(ref _last, new Count(total, time.GetTimestamp(), generation));
        return total;
    }

    /// <summary>Called once a user is committed.</summary>
    public void Changed() => Interlocked.Increment(ref _generation);
}
