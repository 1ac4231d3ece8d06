using System.Diagnostics;
using System.Diagnostics.Metrics;
using Api.Observability;
using BenchmarkDotNet.Attributes;
using Prometheus;

namespace Api.Benchmarks;

/// <summary>
/// What one request pays for its two metrics: HttpMetrics.Record (a counter add and a histogram record, three tags)
/// with the app's OpenTelemetry MeterProvider and Prometheus exporter listening. Target: ≤ 200 ns, 0 bytes.
/// </summary>
[MemoryDiagnoser]
public class RecordBenchmarks
{
    private InProcessApi _api = null!;
    private HttpMetrics _metrics = null!;
    private DirectInstruments _direct = null!;
    private long _start;

    [GlobalSetup]
    public void Setup()
    {
        _api = InProcessApi.StartAsync().GetAwaiter().GetResult();
        _metrics = _api.Metrics;
        _start = Stopwatch.GetTimestamp();
        _metrics.Record("GET", "/api/users/{id:guid}", 200, _start); // the series exists before measuring, as in steady state

        // The breakdown: one instrument of each kind, exported by the same MeterProvider ("Api.*"), same tags and buckets.
        _direct = new DirectInstruments(_api.MeterFactory, "Api.Benchmarks");
        CounterAdd();
        HistogramRecord();
    }

    [GlobalCleanup]
    public void Cleanup() => _api.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "OpenTelemetry: HttpMetrics.Record")]
    public void OpenTelemetryRecord() => _metrics.Record("GET", "/api/users/{id:guid}", 200, _start);

    [Benchmark(Description = "  of which: Counter<long>.Add, 3 tags")]
    public void CounterAdd() => _direct.Requests.Add(1, DirectInstruments.MethodTag, DirectInstruments.RouteTag, DirectInstruments.StatusTag);

    [Benchmark(Description = "  of which: Histogram<double>.Record, 3 tags")]
    public void HistogramRecord() => _direct.Duration.Record(0.0042, DirectInstruments.MethodTag, DirectInstruments.RouteTag, DirectInstruments.StatusTag);

    [Benchmark(Description = "  of which: Stopwatch.GetElapsedTime")]
    public double ElapsedSeconds() => Stopwatch.GetElapsedTime(_start).TotalSeconds;
}

/// <summary>
/// The contrast: the same two instruments, tags and measurement, but collected by prometheus-net 8.2.1's MeterAdapter
/// instead of OpenTelemetry. It turns each measurement's tags into a label-value array before looking the series up.
/// </summary>
[MemoryDiagnoser]
public class PrometheusNetMeterAdapterBenchmarks
{
    private const string MeterName = "Bench.PrometheusNet";

    private Meter _meter = null!;
    private Counter<long> _requests = null!;
    private Histogram<double> _duration = null!;
    private IDisposable _adapter = null!;
    private long _start;

    [GlobalSetup]
    public void Setup()
    {
        var registry = Metrics.NewCustomRegistry();
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            InstrumentFilterPredicate = instrument => instrument.Meter.Name == MeterName,
            Registry = registry,
            MetricFactory = Metrics.WithCustomRegistry(registry), // the default factory writes to the default registry
            ResolveHistogramBuckets = _ => new MetricsOptions().DurationBuckets, // the same 11 buckets as ours
        });
        _meter = new Meter(MeterName);
        _requests = _meter.CreateCounter<long>(HttpMetrics.RequestsTotal);
        _duration = _meter.CreateHistogram<double>(HttpMetrics.RequestDuration, unit: "s");
        _start = Stopwatch.GetTimestamp();
        Record();

        // Proof that the adapter really collects what is measured here (an empty registry would make this look cheap).
        using var text = new MemoryStream();
        registry.CollectAndExportAsTextAsync(text).GetAwaiter().GetResult();
        var exported = System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n').Count(line => !line.StartsWith('#') && line.Contains("http_request", StringComparison.Ordinal));
        Console.WriteLine($"// prometheus-net registry: {exported} http_* series after one measurement");
        if (exported == 0)
        {
            throw new InvalidOperationException("prometheus-net's MeterAdapter collected nothing: the comparison would be meaningless.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adapter.Dispose();
        _meter.Dispose();
    }

    [Benchmark(Description = "prometheus-net MeterAdapter: same measurement")]
    public void Record()
    {
        var methodTag = new KeyValuePair<string, object?>("method", "GET");
        var routeTag = new KeyValuePair<string, object?>("route", "/api/users/{id:guid}");
        var statusTag = new KeyValuePair<string, object?>("status", "200");
        _requests.Add(1, methodTag, routeTag, statusTag);
        _duration.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds, methodTag, routeTag, statusTag);
    }
}

/// <summary>
/// Contention: what one record costs a thread while another thread records at the same time, on the same series (the
/// case of a busy endpoint served on two cores) and, as the control, on another series. Each benchmark reports the
/// time of its records on one thread divided by their number, so with no contention the cases read the same.
/// <para>
/// Back to back, both threads record all the time: the worst case, and HttpMetrics' per-core batches still reach
/// OpenTelemetry from both cores at once. "Between work" is closer to a server: a record after ≈ 5 µs of work on the
/// thread's own data (a real GET / takes ≈ 30 µs of CPU), recorded by HttpMetrics and, for the design it replaced,
/// straight into an OpenTelemetry counter and histogram of the same shape; "work alone" is what the work costs.
/// </para>
/// </summary>
[MemoryDiagnoser]
public class ConcurrentRecordBenchmarks
{
    private const int PerThread = 200_000;
    private const int PerThreadBetweenWork = 20_000;
    private const int WorkSpins = 150; // Thread.SpinWait, ≈ 40 ns a spin: ≈ 6 µs ("work alone" measures it)

    private InProcessApi _api = null!;
    private HttpMetrics _metrics = null!;
    private DirectInstruments _direct = null!;
    private long _start;

    [GlobalSetup]
    public void Setup()
    {
        _api = InProcessApi.StartAsync().GetAwaiter().GetResult();
        _metrics = _api.Metrics;
        _start = Stopwatch.GetTimestamp();
        _direct = new DirectInstruments(_api.MeterFactory, "Api.Benchmarks.Direct");
        RecordMany("/api/users/{id:guid}");
        RecordMany("/api/users");
        RecordDirect();
    }

    [GlobalCleanup]
    public void Cleanup() => _api.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = PerThread, Description = "HttpMetrics.Record, 1 thread")]
    public void OneThread() => RecordMany("/api/users/{id:guid}");

    [Benchmark(OperationsPerInvoke = PerThread, Description = "HttpMetrics.Record, 2 threads, same series")]
    public void TwoThreadsSameSeries() => OnTwoThreads(() => RecordMany("/api/users/{id:guid}"));

    [Benchmark(OperationsPerInvoke = PerThread, Description = "HttpMetrics.Record, 2 threads, other series")]
    public void TwoThreadsOtherSeries() => OnTwoThreads(() => RecordMany("/api/users/{id:guid}"), () => RecordMany("/api/users"));

    [Benchmark(OperationsPerInvoke = PerThreadBetweenWork, Description = "between work: work alone, 2 threads")]
    public void WorkAlone() => OnTwoThreads(() => BetweenWork(() => { }));

    [Benchmark(OperationsPerInvoke = PerThreadBetweenWork, Description = "between work: HttpMetrics.Record, 2 threads, same series")]
    public void BetweenWorkSameSeries() => OnTwoThreads(() => BetweenWork(() => _metrics.Record("GET", "/api/users/{id:guid}", 200, _start)));

    [Benchmark(OperationsPerInvoke = PerThreadBetweenWork, Description = "between work: straight to OpenTelemetry, 2 threads, same series")]
    public void BetweenWorkSameSeriesDirect() => OnTwoThreads(() => BetweenWork(RecordDirect));

    private static void OnTwoThreads(Action work) => OnTwoThreads(work, work);

    private static void OnTwoThreads(Action work, Action otherWork)
    {
        var other = new Thread(() => otherWork());
        other.Start();
        work();
        other.Join();
    }

    private void RecordMany(string route)
    {
        for (var i = 0; i < PerThread; i++)
        {
            _metrics.Record("GET", route, 200, _start);
        }
    }

    private static void BetweenWork(Action record)
    {
        for (var i = 0; i < PerThreadBetweenWork; i++)
        {
            Thread.SpinWait(WorkSpins);
            record();
        }
    }

    private void RecordDirect() => _direct.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds);
}

/// <summary>
/// A counter and a histogram shaped like HttpMetrics' (same tags, same buckets) in a meter the app's MeterProvider
/// exports ("Api.*"), recorded into straight away: the per-instrument breakdown of a record, and the design HttpMetrics
/// replaced (before it held requests per core).
/// </summary>
internal sealed class DirectInstruments
{
    public static readonly KeyValuePair<string, object?> MethodTag = new("method", "GET");
    public static readonly KeyValuePair<string, object?> RouteTag = new("route", "/api/users/{id:guid}");
    public static readonly KeyValuePair<string, object?> StatusTag = new("status", "200");

    public DirectInstruments(IMeterFactory meterFactory, string meterName)
    {
        var meter = meterFactory.Create(meterName);
        Requests = meter.CreateCounter<long>("bench_requests_total");
        Duration = meter.CreateHistogram("bench_request_duration_seconds", unit: "s", description: null, tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = new MetricsOptions().DurationBuckets });
    }

    public Counter<long> Requests { get; }

    public Histogram<double> Duration { get; }

    public void Record(double seconds)
    {
        Requests.Add(1, MethodTag, RouteTag, StatusTag);
        Duration.Record(seconds, MethodTag, RouteTag, StatusTag);
    }
}

/// <summary>
/// What ASP.NET Core's Hosting meter adds to every request for its in-flight gauge (http.server.active_requests): an
/// UpDownCounter +1 when the request starts and -1 when it ends, with the method and scheme tags, on one series that
/// every core writes; recorded here into an instrument of that shape that the app's MeterProvider exports. Beside it,
/// what HttpMetrics does instead: the same pair on the current core's own stripe.
/// </summary>
public class InFlightBenchmarks
{
    private const int PerThread = 200_000;

    private static readonly KeyValuePair<string, object?> MethodTag = new("http.request.method", "GET");
    private static readonly KeyValuePair<string, object?> SchemeTag = new("url.scheme", "http");

    private InProcessApi _api = null!;
    private UpDownCounter<long> _active = null!;

    [GlobalSetup]
    public void Setup()
    {
        _api = InProcessApi.StartAsync().GetAwaiter().GetResult();
        _active = _api.MeterFactory.Create("Api.Benchmarks.InFlight").CreateUpDownCounter<long>("http.server.active_requests");
        StartAndEndMany();
    }

    [GlobalCleanup]
    public void Cleanup() => _api.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = PerThread, Description = "+1/-1, 1 thread")]
    public void OneThread() => StartAndEndMany();

    [Benchmark(OperationsPerInvoke = PerThread, Description = "+1/-1, 2 threads, same series")]
    public void TwoThreads() => OnTwoThreads(StartAndEndMany);

    [Benchmark(OperationsPerInvoke = PerThread, Description = "HttpMetrics per core, 1 thread")]
    public void PerCoreOneThread() => PerCoreMany();

    [Benchmark(OperationsPerInvoke = PerThread, Description = "HttpMetrics per core, 2 threads")]
    public void PerCoreTwoThreads() => OnTwoThreads(PerCoreMany);

    private void StartAndEnd()
    {
        _active.Add(1, MethodTag, SchemeTag);
        _active.Add(-1, MethodTag, SchemeTag);
    }

    private void PerCoreMany()
    {
        var metrics = _api.Metrics;
        for (var i = 0; i < PerThread; i++)
        {
            metrics.RequestStarted();
            metrics.RequestEnded();
        }
    }

    private void StartAndEndMany()
    {
        for (var i = 0; i < PerThread; i++)
        {
            StartAndEnd();
        }
    }

    private static void OnTwoThreads(Action work)
    {
        var other = new Thread(() => work());
        other.Start();
        work();
        other.Join();
    }
}
