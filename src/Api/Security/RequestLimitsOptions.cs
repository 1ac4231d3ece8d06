namespace Api.Security;

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
