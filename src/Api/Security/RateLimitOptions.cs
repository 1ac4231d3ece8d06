namespace Api.Security;

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
