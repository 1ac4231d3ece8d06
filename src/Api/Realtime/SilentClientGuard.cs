using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Api.Realtime;

/// <summary>
/// Drops a hub connection that has sent nothing for <see cref="RealtimeOptions.ClientTimeoutInterval"/>. SignalR's own
/// client timeout starts only with the client's first ping message, so a client that completed the handshake and then
/// only answers WebSocket pings (its runtime does that by itself) would otherwise stay connected, and counted, forever.
/// </summary>
internal static class SilentClientGuard
{
    public static IConnectionBuilder UseSilentClientGuard(this IConnectionBuilder connections, TimeSpan timeout) =>
        connections.Use(next => connection =>
        {
            var input = new WatchedReader(connection.Transport.Input);
            connection.Transport = new DuplexPipe(input, connection.Transport.Output);
            // The heartbeat ticks about once a second, so the drop comes within a second after the timeout.
            connection.Features.Get<IConnectionHeartbeatFeature>()?.OnHeartbeat(_ =>
            {
                if (input.SilentFor > timeout)
                {
                    connection.Abort(new ConnectionAbortedException($"The client sent nothing for {timeout}."));
                }
            }, input);
            return next(connection);
        });

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>The connection's input, unchanged, remembering when bytes last arrived.</summary>
    private sealed class WatchedReader(PipeReader input) : PipeReader
    {
        private long _lastReceived = Environment.TickCount64;

        public TimeSpan SilentFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastReceived));

        // A read completes when new bytes arrived (or the input ended); reads of data already examined do not wait.
        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var result = await input.ReadAsync(cancellationToken);
            Volatile.Write(ref _lastReceived, Environment.TickCount64);
            return result;
        }

        public override bool TryRead(out ReadResult result) => input.TryRead(out result);

        public override void AdvanceTo(SequencePosition consumed) => input.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => input.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => input.CancelPendingRead();

        public override void Complete(Exception? exception = null) => input.Complete(exception);
    }
}
