namespace Api.Observability;

/// <summary>Settings under <c>Metrics</c>: what is measured and who may scrape it.</summary>
public sealed class MetricsOptions : IValidatableObject
{
    public const string Section = "Metrics";

    public HttpRequestMetricsOptions HttpRequests { get; set; } = new();

    /// <summary>
    /// The old name of <c>Metrics:HttpRequests:Enabled</c>, still read (with a warning at start-up): it never switched
    /// off <c>/metrics</c>, only the HTTP request metrics.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>Whether the HTTP request metrics are recorded, whichever key said so.</summary>
    public bool RecordsHttpRequests => Enabled ?? HttpRequests.Enabled;

    /// <summary>Path of the Prometheus scrape endpoint.</summary>
    [Required, RegularExpression("^/.*", ErrorMessage = "{0} must start with '/'")]
    public string Path { get; set; } = "/metrics";

    /// <summary>When set, a scrape must carry <c>Authorization: Bearer KEY</c> or <c>X-API-Key: KEY</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>When set, <c>/metrics</c> is served only on this extra port, so it can stay off the public listener.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Interface the extra metrics listener binds to: <c>localhost</c>, an address, or <c>*</c> for all.</summary>
    [Required]
    public string Host { get; set; } = "localhost";

    /// <summary>
    /// Upper bounds, in seconds, of the <c>http_request_duration_seconds</c> buckets: positive and strictly increasing.
    /// Configured items replace these (<c>Metrics:DurationBuckets:0=0.1</c>, <c>:1=1</c> gives exactly [0.1, 1]).
    /// </summary>
    [MinLength(1)]
    public double[] DurationBuckets { get; set; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>How long one rendered scrape is reused; 0 renders every scrape afresh.</summary>
    [Range(0, 60_000)]
    public int ScrapeCacheMilliseconds { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The exporter rejects unordered bounds with an exception that names no setting; a 0 or negative bound is no latency.
        if (DurationBuckets.Length > 0 && (DurationBuckets[0] <= 0 || DurationBuckets.Zip(DurationBuckets.Skip(1)).Any(pair => pair.First >= pair.Second)))
        {
            yield return new ValidationResult(
                $"must be positive and strictly increasing, got [{string.Join(", ", DurationBuckets.Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]",
                [nameof(DurationBuckets)]);
        }
    }
}

public sealed class HttpRequestMetricsOptions
{
    /// <summary>Records http_requests_total and http_request_duration_seconds. Off only to measure what they cost (bench/).</summary>
    public bool Enabled { get; set; } = true;
}
