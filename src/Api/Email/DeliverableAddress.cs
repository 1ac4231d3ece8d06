using System.Text;
using Api.Users;
using MimeKit;

namespace Api.Email;

/// <summary>The welcome email's recipient, by the rule the API accepted the address with (Users/MailableAddress.cs).</summary>
public static class DeliverableAddress
{
    /// <summary>The recipient of a message, or a permanent failure (never retried) when the address cannot be mailed.</summary>
    public static MailboxAddress Mailbox(string name, string address) =>
        MailableAddress.Problem(address) is { } problem
            ? throw new PermanentEmailFailureException($"The address {address} {problem}.", new ParseException(problem, 0, 0))
            : new MailboxAddress(WithoutControlCharacters(name), address);

    // Names are checked by the API; rows stored before that check are mailed with their control characters dropped.
    private static string WithoutControlCharacters(string name) =>
        name.Any(char.IsControl) ? new StringBuilder(name.Length).Append(name.Where(c => !char.IsControl(c)).ToArray()).ToString() : name;
}
