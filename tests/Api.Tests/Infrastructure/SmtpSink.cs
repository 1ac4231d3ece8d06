using System.Buffers;
using System.Collections.Concurrent;
using MimeKit;
using Shared.Smtp;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Api.Tests.Infrastructure;

/// <summary>One message the sink accepted: the envelope recipient, the Message-ID header, the subject and the body (HTML if any).</summary>
public sealed record ReceivedMail(string To, string MessageId, string Subject, string Body);

/// <summary>
/// A real SMTP server (the SmtpServer package, in-process) on 127.0.0.1 at a fixed free port, keeping what it accepts.
/// It can be stopped and started again on the same port (SMTP down / back), reject recipients permanently (550 on RCPT
/// TO), and hold every message before answering DATA, so that jobs pile up behind it.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedMail> _received = new();
    private readonly ConcurrentDictionary<string, bool> _rejected = new(StringComparer.OrdinalIgnoreCase);
    private SmtpServer.SmtpServer? _server;
    private Task _running = Task.CompletedTask;
    private TaskCompletionSource _gate = Open();
    private int _arrived;
    private int _sessions;

    private SmtpSink(int port) => Port = port;

    public int Port { get; }

    public IReadOnlyCollection<ReceivedMail> Received => _received.ToArray();

    /// <summary>Messages that reached DATA, including those still held.</summary>
    public int Arrived => Volatile.Read(ref _arrived);

    /// <summary>SMTP sessions (connections) opened so far, including the start-up probe's.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    public static async Task<SmtpSink> StartAsync()
    {
        var sink = new SmtpSink(FreePort.Next());
        await sink.StartServerAsync();
        return sink;
    }

    public void Reject(string address) => _rejected[address] = true;

    public void Accept(string address) => _rejected.TryRemove(address, out _);

    /// <summary>From now on every message waits, unanswered, until <see cref="Release"/>.</summary>
    public void Hold() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => _gate.TrySetResult();

    public async Task StopAsync()
    {
        if (_server is null)
        {
            return;
        }

        _server.Shutdown();
        await _running;
        _server = null;
    }

    public Task StartServerAsync()
    {
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(this));
        // TCP_NODELAY on accepted sockets: the library's own listener stalls every mail ~40 ms on Nagle's algorithm
        // against the client's delayed ACK (see the factory); real servers such as Postfix do not.
        services.Add(new NoDelayListenerFactory());
        services.Add(new DelegatingMailboxFilter((_, to, _) => !_rejected.ContainsKey(to.AsAddress())));
        _server = new SmtpServer.SmtpServer(options, services);
        _server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _running = _server.StartAsync(CancellationToken.None);
        return WaitUntilListeningAsync();
    }

    private async Task WaitUntilListeningAsync() =>
        await Eventually.HoldsAsync(async () =>
        {
            using var client = new System.Net.Sockets.TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), $"the SMTP sink on port {Port}");

    public async ValueTask DisposeAsync()
    {
        Release();
        await StopAsync();
    }

    private static TaskCompletionSource Open()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    private sealed class Store(SmtpSink sink) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref sink._arrived);
            await sink._gate.Task.WaitAsync(cancellationToken);
            using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            foreach (var to in transaction.To)
            {
                sink._received.Enqueue(new ReceivedMail(to.AsAddress(), message.MessageId ?? "", message.Subject ?? "", message.HtmlBody ?? message.TextBody ?? ""));
            }

            return SmtpResponse.Ok;
        }
    }
}
