using Api.Users;

namespace Api.Tests.Users;

public sealed class UserIdsTests
{
    [Fact]
    public void Ids_made_in_a_burst_sort_in_creation_order_as_text_and_as_uuid()
    {
        // Thousands per millisecond: Guid.CreateVersion7's random bits after the timestamp would misorder many of them.
        var ids = Enumerable.Range(0, 20_000).Select(_ => UserIds.Next()).ToList();

        Assert.All(ids, id => Assert.Equal(7, id.Version));
        Assert.Equal(ids, ids.OrderBy(id => id.ToString(), StringComparer.Ordinal)); // SQLite stores the text
        Assert.Equal(ids, ids.OrderBy(id => Convert.ToHexString(id.ToByteArray(bigEndian: true)), StringComparer.Ordinal)); // PostgreSQL's uuid order
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
