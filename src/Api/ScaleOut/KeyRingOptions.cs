using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Api.ScaleOut;

/// <summary>
/// Settings under <c>DataProtection</c>: the certificate that encrypts the shared key ring at rest. Without one the
/// keys are stored as plain XML wherever they live (Redis, the database), readable by anyone who can read that store.
/// </summary>
public sealed class KeyRingOptions : IValidatableObject
{
    public const string Section = "DataProtection";

    /// <summary>A PKCS#12 file (.pfx) with a private key; every instance must be given the same one.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(CertificatePath))
        {
            yield break;
        }

        var problem = LoadCertificate() switch
        {
            null => "cannot be read: no such file, or not PKCS#12 with this password (DataProtection:CertificatePassword)",
            { HasPrivateKey: false } => "has no private key, so it could not decrypt the keys it encrypts",
            _ => null,
        };
        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(CertificatePath)]);
        }
    }

    /// <summary>The certificate, or null when the path is unset or the file cannot be read (validation reports it).</summary>
    internal X509Certificate2? LoadCertificate()
    {
        if (string.IsNullOrEmpty(CertificatePath))
        {
            return null;
        }

        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, CertificatePassword);
        }
        catch (Exception exception) when (exception is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
