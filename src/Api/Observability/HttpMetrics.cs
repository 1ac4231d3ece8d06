using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace Api.Observability;

/// <summary>
/// The seed's HTTP metrics. Their names and labels are a contract with the dashboards and alerts under
/// grafana/ and prometheus/; tests/Api.Tests/Monitoring/MonitoringEndToEndTests holds them together (every metric a
/// panel or rule names is exposed).
/// </summary>
public sealed class HttpMetrics
{
    public const string MeterName = "Api.Http";
    public const string RequestsTotal = "http_requests_total";
    public const string RequestDuration = "http_request_duration_seconds";

    /// <summary>The route label of a request that matched no endpoint: one series however many URLs a scanner tries.</summary>
    public const string UnmatchedRoute = "unmatched";

    /// <summary>The method label of anything outside the standard set, as ASP.NET Core's own meters spell it.</summary>
    public const string OtherMethod = "_OTHER";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public HttpMetrics(IMeterFactory meterFactory, IOptions<MetricsOptions> options)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>(RequestsTotal, unit: null,
            description: "HTTP requests handled, by method, route template and status code.");
        _duration = meter.CreateHistogram(RequestDuration, unit: "s",
            description: "Time from the first byte of the request to the end of the response, in seconds.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = options.Value.DurationBuckets });
    }

    /// <summary>
    /// Records one finished request. Every label value is a string that already exists (a constant, an interned
    /// status code, the endpoint's own route template), and the three-tag overloads take the tags on the stack:
    /// nothing is allocated, formatted or locked here.
    /// </summary>
    public void Record(string method, string route, int statusCode, long startTimestamp)
    {
        var methodTag = new KeyValuePair<string, object?>("method", NormalizeMethod(method));
        var routeTag = new KeyValuePair<string, object?>("route", route);
        var statusTag = new KeyValuePair<string, object?>("status", StatusCodeText(statusCode));
        _requests.Add(1, methodTag, routeTag, statusTag);
        _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, methodTag, routeTag, statusTag);
    }

    /// <summary>
    /// Maps the method onto one of HttpMethods' constants (Kestrel already hands us those for standard methods, so the
    /// first reference comparison usually decides); any other method, in any spelling, collapses to one label value.
    /// </summary>
    internal static string NormalizeMethod(string method) =>
        HttpMethods.IsGet(method) ? HttpMethods.Get
        : HttpMethods.IsPost(method) ? HttpMethods.Post
        : HttpMethods.IsPut(method) ? HttpMethods.Put
        : HttpMethods.IsDelete(method) ? HttpMethods.Delete
        : HttpMethods.IsPatch(method) ? HttpMethods.Patch
        : HttpMethods.IsHead(method) ? HttpMethods.Head
        : HttpMethods.IsOptions(method) ? HttpMethods.Options
        : HttpMethods.IsTrace(method) ? HttpMethods.Trace
        : HttpMethods.IsConnect(method) ? HttpMethods.Connect
        : OtherMethod;

    private static readonly string[] StatusCodes = Enumerable.Range(0, 1000).Select(code => code.ToString("D3")).ToArray();

    internal static string StatusCodeText(int statusCode) =>
        (uint)statusCode < (uint)StatusCodes.Length ? StatusCodes[statusCode] : "other";
}
