using MimeKit;

namespace Api.Users;

/// <summary>
/// What counts as an email address this service can mail, decided by the parser the mailer uses (MimeKit, strict)
/// plus rules of our own: the whole input must be one bare address (no display name, no angle brackets, no list, no
/// route), the local part unquoted, the domain a dotted host name. The API accepts only such addresses, and the
/// welcome job (Email/DeliverableAddress.cs) builds its recipient by the same rule, so whatever was accepted can be sent.
/// </summary>
public static class MailableAddress
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
}
