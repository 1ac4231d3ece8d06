using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Numerics;
using System.Runtime.InteropServices;

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

    /// <summary>
    /// Requests begun and not yet finished (the scrape that reads it included), under the name of ASP.NET Core's
    /// http.server.active_requests, which every .NET dashboard queries. Counted here per core rather than through the
    /// Hosting meter: that one writes +1 and -1 to one series shared by every core on every request, 74 ns a request on
    /// one core and 280 ns with two (bench/Micro InFlightBenchmarks), up to 2 % of the cheapest request.
    /// </summary>
    public const string ActiveRequests = "http_server_active_requests";

    /// <summary>The route label of a request that matched no endpoint: one series however many URLs a scanner tries.</summary>
    public const string UnmatchedRoute = "unmatched";

    /// <summary>The method label of anything outside the standard set, as ASP.NET Core's own meters spell it.</summary>
    public const string OtherMethod = "_OTHER";

    /// <summary>The observable instrument whose callback publishes the held requests; it has no points of its own.</summary>
    internal const string PendingPublisher = "http_requests_pending_publish";

    /// <summary>How many finished requests one core holds before it hands them to OpenTelemetry together.</summary>
    internal const int StripeCapacity = 64;

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Stripe[] _stripes;

    public HttpMetrics(IMeterFactory meterFactory, IOptions<MetricsOptions> options)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>(RequestsTotal, unit: null,
            description: "HTTP requests handled, by method, route template and status code.");
        _duration = meter.CreateSecondsHistogram(RequestDuration,
            "Time from the first byte of the request to the end of the response, in seconds.", options.Value.DurationBuckets);

        _stripes = new Stripe[BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount)];
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i].Pending = new FinishedRequest[StripeCapacity + Stripe.SpareEntries];
        }

        // Every collection (a Prometheus scrape, an OTLP export) runs the observable instruments' callbacks before it
        // reads any instrument (OpenTelemetry's MetricReader.OnCollect), so this one publishes what the cores still
        // hold and every collection sees every request that finished before it. It reports nothing itself, and
        // OpenTelemetry exports no metric without a point.
        meter.CreateObservableGauge(PendingPublisher, PublishPending, unit: null,
            description: "Publishes the requests the cores still hold before each collection; reports nothing.");
        meter.CreateObservableUpDownCounter(ActiveRequests, CountActive, unit: null,
            description: "HTTP requests being served right now (WebSocket connections included).");
    }

    /// <summary>A request began. It may end on another core: only the sum over the cores is a count.</summary>
    public void RequestStarted() => Interlocked.Increment(ref CurrentStripe.Active);

    /// <summary>A request ended, however it ended.</summary>
    public void RequestEnded() => Interlocked.Decrement(ref CurrentStripe.Active);

    private ref Stripe CurrentStripe => ref _stripes[Thread.GetCurrentProcessorId() & (_stripes.Length - 1)];

    private long CountActive()
    {
        long active = 0;
        for (var i = 0; i < _stripes.Length; i++)
        {
            active += Volatile.Read(ref _stripes[i].Active);
        }

        return active;
    }

    /// <summary>
    /// Records one finished request. Every label value is a string that already exists (a constant, an interned
    /// status code, the endpoint's own route template): nothing is allocated or formatted here.
    /// <para>
    /// The request is held by the core it finished on and handed to OpenTelemetry with that core's next
    /// <see cref="StripeCapacity"/> - 1 requests, or at the next collection, whichever comes first. OpenTelemetry keeps
    /// one counter and one histogram (behind a lock) per series, so two cores recording the same busy endpoint would
    /// pull those cache lines from each other on every request; held per core, they move once per batch. The same
    /// idea as the striped cells of prometheus/client_java and opentelemetry-java. A request in a sampled trace is
    /// recorded at once instead, on its own thread, where the exemplar filter reads its trace id.
    /// </para>
    /// </summary>
    public void Record(string method, string route, int statusCode, long startTimestamp)
    {
        if (!_duration.Enabled && !_requests.Enabled)
        {
            return; // nothing listens (Metrics:HttpRequests:Enabled=false keeps the middleware out anyway)
        }

        var request = new FinishedRequest(NormalizeMethod(method), route, StatusCodeText(statusCode),
            Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        if (Activity.Current is { Recorded: true })
        {
            Publish(request);
            return;
        }

        ref var stripe = ref CurrentStripe;
        lock (stripe.Pending)
        {
            stripe.Pending[stripe.Count++] = request;
            if (stripe.Count == StripeCapacity)
            {
                PublishHeld(ref stripe);
            }
        }
    }

    private IEnumerable<Measurement<long>> PublishPending()
    {
        // The collecting thread may be inside a trace of its own; it is none of these requests' trace.
        var collectorsActivity = Activity.Current;
        Activity.Current = null;
        try
        {
            for (var i = 0; i < _stripes.Length; i++)
            {
                ref var stripe = ref _stripes[i];
                lock (stripe.Pending)
                {
                    PublishHeld(ref stripe);
                }
            }
        }
        finally
        {
            Activity.Current = collectorsActivity;
        }

        return [];
    }

    private void PublishHeld(ref Stripe stripe)
    {
        // Emptied first: should a listener throw, the stripe still takes the next request instead of failing every one.
        var count = stripe.Count;
        stripe.Count = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                Publish(stripe.Pending[i]);
            }
        }
        finally
        {
            Array.Clear(stripe.Pending, 0, count); // drop the route strings' references with the requests
        }
    }

    private void Publish(in FinishedRequest request)
    {
        var methodTag = new KeyValuePair<string, object?>("method", request.Method);
        var routeTag = new KeyValuePair<string, object?>("route", request.Route);
        var statusTag = new KeyValuePair<string, object?>("status", request.Status);
        _requests.Add(1, methodTag, routeTag, statusTag);
        _duration.Record(request.Seconds, methodTag, routeTag, statusTag);
    }

    private readonly record struct FinishedRequest(string Method, string Route, string Status, double Seconds);

    /// <summary>
    /// One core's held requests, locked on <see cref="Pending"/>, which that core alone takes between collections.
    /// What a core writes on every request (the count, the lock word in the array's header, the entries) shares no
    /// cache line with what another core writes or reads on every request: the fields sit a line into a three-line
    /// element, and each array ends in spare entries, never written, before the next one's header. (Locking the stripe
    /// objects themselves put one core's lock word on the line of the stripe array that both cores read, and made the
    /// two-thread benchmark swing between 120 and 610 ns per record from run to run.)
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
    private struct Stripe
    {
        public const int SpareEntries = 2; // 2 × 32 bytes: one line
        private const int CacheLine = 64;

        [FieldOffset(CacheLine)] public FinishedRequest[] Pending;
        [FieldOffset(CacheLine + 8)] public int Count;

        // Requests begun minus ended on this core, written with Interlocked outside the lock: on the line this core
        // already owns for its held requests.
        [FieldOffset(CacheLine + 12)] public int Active;
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
