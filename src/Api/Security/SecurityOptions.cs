using System.Net;

namespace Api.Security;

/// <summary>
/// Settings under <c>ForwardedHeaders</c>: the reverse proxies whose <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>
/// are believed. Empty (the default) believes no one, so a client cannot pick its own address for the rate limit or
/// the dashboard; list the proxy's address (or network) when the API runs behind one.
/// </summary>
public sealed class ForwardedHeadersSettings : IValidatableObject
{
    public const string Section = "ForwardedHeaders";

    /// <summary>Addresses of trusted proxies, e.g. <c>127.0.0.1</c> for nginx on the same host.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted proxies in CIDR notation, e.g. <c>10.0.0.0/8</c>.</summary>
    public string[] KnownNetworks { get; set; } = [];

    public bool Enabled => KnownProxies.Length > 0 || KnownNetworks.Length > 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var proxy in KnownProxies.Where(p => !IPAddress.TryParse(p, out _)))
        {
            yield return new ValidationResult($"{Section}:{nameof(KnownProxies)}: '{proxy}' is not an IP address.");
        }

        foreach (var network in KnownNetworks.Where(n => !IPNetwork.TryParse(n, out _)))
        {
            yield return new ValidationResult($"{Section}:{nameof(KnownNetworks)}: '{network}' is not a network in CIDR notation (10.0.0.0/8).");
        }
    }
}

/// <summary>Settings under <c>RateLimit</c>: how often one client address may do what sends mail.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    /// <summary>Off only for load tests and benchmarks, which sign up thousands of users from one address.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Sign-ups per minute per client address: enough for a family or an office behind one router, far too few for a
    /// mail bomb (each sign-up mails a caller-chosen address).
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "RateLimit:SignUpsPerMinute must be between 1 and 1000000.")]
    public int SignUpsPerMinute { get; set; } = 20;
}

/// <summary>Settings under <c>Api</c> that bound what one request may cost.</summary>
public sealed class RequestLimitsOptions
{
    public const string Section = "Api";

    /// <summary>
    /// Largest request body accepted, in bytes; larger ones get 413 before they are read. The API's JSON bodies are
    /// a few hundred bytes; 64 KiB leaves room without letting a padded body cost megabytes.
    /// </summary>
    [Range(1024, 1L << 30, ErrorMessage = "Api:MaxRequestBodyBytes must be between 1024 and 1073741824.")]
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;
}
