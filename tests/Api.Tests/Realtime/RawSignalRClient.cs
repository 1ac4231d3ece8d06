using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Api.Tests.Realtime;

/// <summary>
/// A client that speaks SignalR's JSON protocol over a bare WebSocket, skipping negotiation, as a non-.NET client or a
/// load-test tool would. It answers nothing unless asked to, so it can also play a client that went silent.
/// </summary>
internal sealed class RawSignalRClient : IAsyncDisposable
{
    private const char RecordSeparator = '\u001e';
    private readonly ClientWebSocket _socket = new();
    private readonly StringBuilder _pending = new();

    public static async Task<RawSignalRClient> ConnectAsync(Uri baseAddress, CancellationToken cancellationToken)
    {
        var client = new RawSignalRClient();
        // No WebSocket-level pings either: a silent client must be silent at every level.
        client._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var uri = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
        await client._socket.ConnectAsync(uri, cancellationToken);
        await client.SendAsync("""{"protocol":"json","version":1}""", cancellationToken);
        var handshake = await client.ReceiveAsync(cancellationToken);
        if (handshake.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"Handshake refused: {error}");
        }

        return client;
    }

    public WebSocketState State => _socket.State;

    /// <summary>The status of the server's close frame, once one arrived.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public Task SendAsync(string message, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(message + RecordSeparator), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>The next message of the given type (1 invocation, 3 completion, 6 ping, 7 close), skipping others.</summary>
    public async Task<JsonElement> ReceiveAsync(int type, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await ReceiveAsync(cancellationToken);
            if (message.TryGetProperty("type", out var t) && t.GetInt32() == type)
            {
                return message;
            }
        }
    }

    private async Task<JsonElement> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf(RecordSeparator, StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.Remove(0, end + 1);
                return JsonDocument.Parse(text[..end]).RootElement;
            }

            var result = await _socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException($"The server closed the connection: {result.CloseStatus} {result.CloseStatusDescription}");
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
