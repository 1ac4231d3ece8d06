using System.Collections.Concurrent;
using System.Diagnostics;
using Api.Queue;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Api.Email;

/// <summary>
/// Sends mail through the configured SMTP server, or writes it as .eml files when none is configured. SMTP connections
/// are pooled: opening one (TCP, banner, EHLO, maybe TLS and login) and closing it (QUIT) cost more round trips and CPU
/// than sending one mail, so each connection carries many mails (bench/Email measured it; see BENCHMARKS.md).
/// </summary>
internal sealed class EmailSender : IAsyncDisposable, IDisposable
{
    /// <summary>A connection idle longer than this gets a NOOP before reuse: servers drop idle clients after a while.</summary>
    private static readonly TimeSpan CheckAfterIdle = TimeSpan.FromSeconds(30);

    private readonly EmailOptions _options;
    private readonly IHostEnvironment _environment;
    // Idle connected clients, most recently used on top; the semaphore caps the connections open (idle or in use).
    private readonly ConcurrentStack<PooledClient> _idle = new();
    private readonly SemaphoreSlim _slots;
    private volatile bool _disposed;

    public EmailSender(IOptions<EmailOptions> options, IOptions<QueueOptions> queue, IHostEnvironment environment)
    {
        _options = options.Value;
        _environment = environment;
        Connections = _options.Smtp.PoolSize ?? queue.Value.Workers;
        _slots = new SemaphoreSlim(Connections, Connections);
    }

    /// <summary>The most connections open at once, which is also the most mails sent at once.</summary>
    public int Connections { get; }

    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        message.From.Add(MailboxAddress.Parse(_options.From));
        if (string.IsNullOrWhiteSpace(_options.Smtp.Host))
        {
            using var write = EmailTelemetry.Start("email pickup write", ActivityKind.Internal);
            await WriteToPickupDirectoryAsync(message, cancellationToken);
            return;
        }

        // One span from waiting for a pooled connection to the server's last reply: a slow or hung server shows here.
        using var activity = EmailTelemetry.Start("smtp send", ActivityKind.Client);
        activity?.SetTag("server.address", _options.Smtp.Host).SetTag("server.port", _options.Smtp.Port);
        try
        {
            await SendOverSmtpAsync(message, cancellationToken);
        }
        catch (Exception exception)
        {
            activity.RecordFailure(exception);
            throw;
        }
    }

    private async Task SendOverSmtpAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.Smtp.TimeoutSeconds));
        await _slots.WaitAsync(timeout.Token);
        try
        {
            var (client, reused) = await RentAsync(timeout.Token);
            while (true)
            {
                try
                {
                    await client.Smtp.SendAsync(message, timeout.Token);
                    Return(client);
                    return;
                }
                catch (Exception exception) when (reused && IsBrokenConnection(exception))
                {
                    // The server closed the pooled connection while it sat idle (a restart, its idle timeout), which
                    // shows on the first command: one more try on a new connection. Should it have died after the
                    // message went out, the mail may arrive twice (same Message-ID), as with any retry of the job.
                    client.Dispose();
                }
                catch
                {
                    // Anything else (an SMTP reply such as 550, a timeout) propagates unchanged for the job to classify,
                    // and the session's state is unknown (a rejected RCPT, a half-sent DATA): it is never reused.
                    client.Dispose();
                    throw;
                }

                (client, reused) = (await ConnectAsync(timeout.Token), false);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<(PooledClient Client, bool Reused)> RentAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryPop(out var client))
        {
            if (!client.Smtp.IsConnected)
            {
                client.Dispose();
                continue;
            }

            if (Stopwatch.GetElapsedTime(client.IdleSince) > CheckAfterIdle)
            {
                try
                {
                    await client.Smtp.NoOpAsync(cancellationToken);
                }
                catch (Exception exception) when (IsBrokenConnection(exception) || exception is SmtpCommandException)
                {
                    client.Dispose();
                    continue;
                }
            }

            return (client, true);
        }

        return (await ConnectAsync(cancellationToken), false);
    }

    private async Task<PooledClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var smtp = _options.Smtp;
        var client = new SmtpClient { Timeout = smtp.TimeoutSeconds * 1000 };
        try
        {
            var security = !smtp.UseTls ? SecureSocketOptions.None
                : smtp.Port == 465 ? SecureSocketOptions.SslOnConnect
                : SecureSocketOptions.StartTls;
            await client.ConnectAsync(smtp.Host!, smtp.Port, security, cancellationToken);
            if (!string.IsNullOrEmpty(smtp.User))
            {
                await client.AuthenticateAsync(smtp.User, smtp.Password ?? "", cancellationToken);
            }

            return new PooledClient(client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private void Return(PooledClient client)
    {
        client.IdleSince = Stopwatch.GetTimestamp();
        _idle.Push(client);
        // Disposal may have drained the pool between the check and the push: drain again so nothing stays open.
        if (_disposed)
        {
            DrainWithoutQuit();
        }
    }

    /// <summary>The connection is gone (closed by the server, reset), as opposed to the server answering with an error.</summary>
    private static bool IsBrokenConnection(Exception exception) =>
        exception is ServiceNotConnectedException or SmtpProtocolException or IOException;

    /// <summary>Named by Message-ID, so a job that runs twice overwrites its own file instead of adding a second.</summary>
    private async Task WriteToPickupDirectoryAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(_environment.ContentRootPath, _options.PickupDirectory);
        Directory.CreateDirectory(folder);
        var name = string.Concat((message.MessageId ?? Guid.CreateVersion7().ToString()).Split(Path.GetInvalidFileNameChars())) + ".eml";
        var path = Path.Combine(folder, name);
        var temporary = path + ".tmp";
        // The bytes MailKit's SmtpClient would send to a server without 8BITMIME: a 7-bit transfer encoding on every part,
        // CRLF line endings, Bcc left out. A file the pickup folder's reader (or a later SMTP relay) can take as it is.
        message.Prepare(EncodingConstraint.SevenBit);
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.EnsureNewLine = true;
        format.HiddenHeaders.Add(HeaderId.Bcc);
        format.HiddenHeaders.Add(HeaderId.ResentBcc);
        await message.WriteToAsync(format, temporary, cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>On shutdown (the Hangfire server has stopped by then): say QUIT on each idle connection, briefly.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        while (_idle.TryPop(out var client))
        {
            try
            {
                await client.Smtp.DisconnectAsync(quit: true, timeout.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException || IsBrokenConnection(exception) || exception is SmtpCommandException)
            {
                // Closing anyway; the server drops the session on its own.
            }
            finally
            {
                client.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        DrainWithoutQuit();
    }

    private void DrainWithoutQuit()
    {
        while (_idle.TryPop(out var client))
        {
            client.Dispose();
        }
    }

    private sealed class PooledClient(SmtpClient smtp) : IDisposable
    {
        public SmtpClient Smtp { get; } = smtp;

        public long IdleSince { get; set; }

        public void Dispose() => Smtp.Dispose();
    }
}
