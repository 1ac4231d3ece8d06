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

/// <summary>Settings under <c>Shutdown</c>: what the instance does between SIGTERM and its exit.</summary>
public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>
    /// How long the instance keeps serving after SIGTERM while /health/ready answers 503, so that load balancers stop
    /// sending it new requests before it stops accepting them. haproxy with <c>check inter 1s fall 1</c> marks it down
    /// within one interval plus the check's own timeout (at most 2 s); Kubernetes removes a terminating pod from its
    /// endpoints at once, but kube-proxy and ingress controllers take a few seconds to act on it. 5 s covers both with
    /// margin; with haproxy's defaults (<c>inter 2s fall 3</c>) use at least inter × fall + inter = 8.
    /// </summary>
    [Range(0, 300)]
    public int DrainSeconds { get; set; } = 5;

    /// <summary>
    /// After the drain: how long in-flight requests and running jobs may take to finish before the host stops them
    /// (the host's ShutdownTimeout is the drain plus this). 25 s makes 30 s in all, Kubernetes' default grace period.
    /// </summary>
    [Range(1, 600)]
    public int GraceSeconds { get; set; } = 25;
}
