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

    /// <summary>The connection's input, unchanged, timing how long the hub has been waiting for the client's next bytes.</summary>
    private sealed class WatchedReader(PipeReader input) : PipeReader
    {
        // When the pending read started; 0 while none is pending. Only a read that waits counts as the client's silence:
        // while the hub is busy (a long hub method holding the connection's one invocation), an active client is not
        // silent, its bytes wait in the pipe and complete the next read at once.
        private long _waitingSince = Environment.TickCount64;

        public TimeSpan SilentFor => Volatile.Read(ref _waitingSince) is var since and > 0
            ? TimeSpan.FromMilliseconds(Environment.TickCount64 - since)
            : TimeSpan.Zero;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            Volatile.Write(ref _waitingSince, Math.Max(1, Environment.TickCount64));
            try
            {
                return await input.ReadAsync(cancellationToken);
            }
            finally
            {
                Volatile.Write(ref _waitingSince, 0);
            }
        }

        public override bool TryRead(out ReadResult result) => input.TryRead(out result);

        public override void AdvanceTo(SequencePosition consumed) => input.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => input.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => input.CancelPendingRead();

        public override void Complete(Exception? exception = null) => input.Complete(exception);
    }
}
