using System.Text;
using MimeKit;

namespace Api.Email;

/// <summary>
/// What counts as an email address this service can mail, decided by the parser the mailer uses (MimeKit, strict)
/// plus rules of our own: the whole input must be one bare address (no display name, no angle brackets, no list, no
/// route), the local part unquoted, the domain a dotted host name. The API accepts only such addresses, and the
/// welcome job builds its recipient here, so whatever was accepted can be sent.
/// </summary>
public static class DeliverableAddress
{
    private static readonly ParserOptions Strict = new()
    {
        AddressParserComplianceMode = RfcComplianceMode.Strict,
        AllowAddressesWithoutDomain = false,
        AllowUnquotedCommasInAddresses = false,
        Rfc2047ComplianceMode = RfcComplianceMode.Strict,
    };

    /// <summary>Why <paramref name="address"/> cannot be mailed, or null when it can.</summary>
    public static string? Problem(string address)
    {
        if (address.Length == 0 || address.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return "must not contain spaces or control characters";
        }

        if (!MailboxAddress.TryParse(Strict, address, out var mailbox) || mailbox.Address != address || mailbox.Route.Count > 0 || !string.IsNullOrEmpty(mailbox.Name))
        {
            return "is not a single email address";
        }

        var at = address.LastIndexOf('@');
        var local = address[..at];
        var domain = address[(at + 1)..];
        if (local.StartsWith('"'))
        {
            return "must not have a quoted local part";
        }

        // A dotted DNS name (no address literal such as [127.0.0.1], no bare host such as localhost).
        return domain.Contains('.', StringComparison.Ordinal) && !domain.EndsWith('.') && Uri.CheckHostName(domain) == UriHostNameType.Dns
            ? null
            : "must end in a domain name such as example.com";
    }

    /// <summary>The recipient of a message, or a permanent failure (never retried) when the address cannot be mailed.</summary>
    public static MailboxAddress Mailbox(string name, string address) =>
        Problem(address) is { } problem
            ? throw new PermanentEmailFailureException($"The address {address} {problem}.", new ParseException(problem, 0, 0))
            : new MailboxAddress(WithoutControlCharacters(name), address);

    // Names are checked by the API; rows stored before that check are mailed with their control characters dropped.
    private static string WithoutControlCharacters(string name) =>
        name.Any(char.IsControl) ? new StringBuilder(name.Length).Append(name.Where(c => !char.IsControl(c)).ToArray()).ToString() : name;
}
