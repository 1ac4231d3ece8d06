using System.Text;

namespace Api.Jwt;

/// <summary>
/// Settings under <c>Authentication:Jwt</c>: bearer tokens signed with HMAC SHA-256 by the service that issues them.
/// Unset <c>SigningKey</c> (the default) leaves JWT authentication off and the users list and hub public.
/// </summary>
public sealed class JwtOptions : IValidatableObject
{
    public const string Section = "Authentication:Jwt";

    /// <summary>HS256 needs a key of at least 256 bits: 32 bytes of UTF-8. A secret, never in appsettings.json.</summary>
    public const int MinimumKeyBytes = 32;

    public string? SigningKey { get; set; }

    /// <summary>The token's <c>iss</c>, required: a token of another issuer with the same key is refused.</summary>
    public string? Issuer { get; set; }

    /// <summary>The token's <c>aud</c>, required: tokens the issuer made for another service are refused.</summary>
    public string? Audience { get; set; }

    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => !string.IsNullOrEmpty(SigningKey);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            // Half a configuration is a mistake, not a choice: the operator meant to close the API.
            if (!string.IsNullOrEmpty(Issuer) || !string.IsNullOrEmpty(Audience))
            {
                yield return new ValidationResult("must be set as well, or JWT authentication stays off", [nameof(SigningKey)]);
            }

            yield break;
        }

        if (Encoding.UTF8.GetByteCount(SigningKey!) is var bytes and < MinimumKeyBytes)
        {
            yield return new ValidationResult($"must be at least {MinimumKeyBytes} bytes (HS256), got {bytes}", [nameof(SigningKey)]);
        }

        if (string.IsNullOrWhiteSpace(Issuer))
        {
            yield return new ValidationResult($"must be set when {Section}:SigningKey is", [nameof(Issuer)]);
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            yield return new ValidationResult($"must be set when {Section}:SigningKey is", [nameof(Audience)]);
        }
    }
}
