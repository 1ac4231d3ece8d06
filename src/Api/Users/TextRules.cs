using System.Text;

namespace Api.Users;

/// <summary>
/// Text the database can store and a mail header can carry: no NUL or other control characters (PostgreSQL refuses
/// NUL in text, 22021, and a CR/LF in a name is a header injection), no unpaired surrogates (not encodable as UTF-8).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class PrintableTextAttribute() : ValidationAttribute("The {0} field must not contain control characters.")
{
    public override bool IsValid(object? value) => value is not string text || IsPrintable(text);

    internal static bool IsPrintable(string text)
    {
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != System.Buffers.OperationStatus.Done || Rune.IsControl(rune))
            {
                return false;
            }

            rest = rest[consumed..];
        }

        return true;
    }
}

/// <summary>An address the welcome email can be sent to (see MailableAddress.cs).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class DeliverableEmailAttribute() : ValidationAttribute("The {0} field is not a deliverable email address.")
{
    public override bool IsValid(object? value) => value is not string address || MailableAddress.Problem(address.Trim()) is null;
}
