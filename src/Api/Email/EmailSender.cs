using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Api.Email;

/// <summary>Sends mail through the configured SMTP server, or writes it as .eml files when none is configured.</summary>
internal sealed class EmailSender(IOptions<EmailOptions> options, IHostEnvironment environment)
{
    private readonly EmailOptions _options = options.Value;

    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        message.From.Add(MailboxAddress.Parse(_options.From));
        if (string.IsNullOrWhiteSpace(_options.Smtp.Host))
        {
            await WriteToPickupDirectoryAsync(message, cancellationToken);
            return;
        }

        var smtp = _options.Smtp;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(smtp.TimeoutSeconds));
        using var client = new SmtpClient { Timeout = smtp.TimeoutSeconds * 1000 };
        var security = !smtp.UseTls ? SecureSocketOptions.None
            : smtp.Port == 465 ? SecureSocketOptions.SslOnConnect
            : SecureSocketOptions.StartTls;
        await client.ConnectAsync(smtp.Host, smtp.Port, security, timeout.Token);
        if (!string.IsNullOrEmpty(smtp.User))
        {
            await client.AuthenticateAsync(smtp.User, smtp.Password ?? "", timeout.Token);
        }

        await client.SendAsync(message, timeout.Token);
        await client.DisconnectAsync(quit: true, timeout.Token);
    }

    /// <summary>Named by Message-ID, so a job that runs twice overwrites its own file instead of adding a second.</summary>
    private async Task WriteToPickupDirectoryAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(environment.ContentRootPath, _options.PickupDirectory);
        Directory.CreateDirectory(folder);
        var name = string.Concat((message.MessageId ?? Guid.CreateVersion7().ToString()).Split(Path.GetInvalidFileNameChars())) + ".eml";
        var path = Path.Combine(folder, name);
        var temporary = path + ".tmp";
        await message.WriteToAsync(temporary, cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }
}
