namespace Api.Users;

/// <summary>
/// User ids: UUIDv7, so they sort by creation time and the list's "oldest first" is an index order. Guid.CreateVersion7
/// fills the 12 bits after the millisecond timestamp at random, so two users created in the same millisecond (a fast
/// SQLite commit makes that common) could sort either way; here those bits count up within a millisecond instead
/// (RFC 9562 §6.2, method 3), which keeps ids made by this process in creation order.
/// </summary>
internal static class UserIds
{
    private const int MaxCounter = 0xFFF;
    private static readonly Lock Gate = new();
    private static long _lastMilliseconds;
    private static int _counter;

    public static Guid Next()
    {
        long milliseconds;
        int counter;
        lock (Gate)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (now > _lastMilliseconds)
            {
                _lastMilliseconds = now;
                _counter = Random.Shared.Next(MaxCounter / 2); // a random start, leaving room to count up
            }
            else if (++_counter > MaxCounter)
            {
                _lastMilliseconds++; // thousands of ids in one millisecond: borrow the next one
                _counter = 0;
            }

            milliseconds = _lastMilliseconds;
            counter = _counter;
        }

        Span<byte> bytes = stackalloc byte[16];
        Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(milliseconds)).TryWriteBytes(bytes, bigEndian: true, out _);
        bytes[6] = (byte)(0x70 | (counter >> 8)); // version 7 and the counter's high 4 bits
        bytes[7] = (byte)counter;
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>When an id of <see cref="Next"/> was made: its first 48 bits are Unix milliseconds.</summary>
    public static DateTimeOffset CreatedAt(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        var milliseconds = 0L;
        foreach (var b in bytes[..6])
        {
            milliseconds = (milliseconds << 8) | b;
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
    }
}
