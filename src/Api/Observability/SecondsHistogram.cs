using System.Diagnostics.Metrics;

namespace Api.Observability;

internal static class SecondsHistogram
{
    /// <summary>
    /// A histogram of durations in seconds, with its buckets: OpenTelemetry's default boundaries (0, 5, 10, … 10000)
    /// are meant for milliseconds and would put every request and job in the first one or two.
    /// </summary>
    public static Histogram<double> CreateSecondsHistogram(this Meter meter, string name, string description,
        IReadOnlyList<double> buckets) =>
        meter.CreateHistogram(name, unit: "s", description, tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });
}
