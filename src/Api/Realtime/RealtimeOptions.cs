using System.ComponentModel.DataAnnotations;

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
