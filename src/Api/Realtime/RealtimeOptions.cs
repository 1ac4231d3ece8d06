namespace Api.Realtime;

/// <summary>Settings under <c>Realtime</c>: how fast a silent client is declared dead.</summary>
public sealed class RealtimeOptions : IValidatableObject
{
    public const string Section = "Realtime";

    /// <summary>How often the server pings an idle client, so the client knows the server is alive.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A client that sends nothing (not even its own ping) for this long is disconnected. This is what catches a client
    /// whose network went away without a close: its connection leaves websocket_connections_total within this time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "00:30:00")]
    public TimeSpan ClientTimeoutInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// With the Redis backplane: the longest a call to Redis may take (connect, sync and async timeouts of the backplane's
    /// connection). A hung Redis then fails a broadcast or a subscription after this long instead of the library's 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the request that created a user waits for its broadcast to be handed to the backplane. Past this the
    /// request answers anyway (the broadcast is best effort), so a hung Redis does not slow sign-ups.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan BroadcastTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Clients ping at the server's keep-alive pace by default; a timeout shorter than two pings drops healthy ones.
        if (ClientTimeoutInterval < 2 * KeepAliveInterval)
        {
            yield return new ValidationResult(
                $"must be at least twice {Section}:{nameof(KeepAliveInterval)} ({KeepAliveInterval}), got {ClientTimeoutInterval}",
                [nameof(ClientTimeoutInterval)]);
        }
    }
}
