// Email jobs benchmark: jobs per second from enqueue to SMTP delivery through Redis job storage.
// Starts its own redis-server, an SMTP sink (the SmtpServer package, in this process) and the API (Release Api.dll) as
// a separate process, all on 127.0.0.1; enqueues welcome-email jobs straight into Redis from several threads, as the
// API's POST /api/users does, and times each one until the sink has it. Bounded: gives up after 5 minutes.
// Also reports the CPU time each process spent per job: on a shared machine that is steadier than jobs/s, and it says
// what a core can do. Arguments after the numbers that start with "--" go to the API (e.g. --Email:Smtp:PoolSize=1).
// The sink replies with TCP_NODELAY (see NoDelayListenerFactory): with the library's default listener every mail stalled
// ~40 ms on Nagle's algorithm against delayed ACKs, which capped the whole pipeline at 20 mails/s per worker.
// Usage: Email.Bench <Api.dll> [jobs, default 10000] [API workers, default 20] [enqueue threads, default 4] [--stock-sink] [--Key=Value…]
using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Api.Email;
using Api.Queue;
using Hangfire;
using Hangfire.Common;
using Hangfire.Redis.StackExchange;
using Hangfire.States;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using Shared.Smtp;
using Shared.Net;
using static Bench.Shared.BenchHelpers;

// --stock-sink: the SMTP sink with the library's own listener (Nagle on), to reproduce the 40 ms stall per mail.
var stockSink = args.Contains("--stock-sink");
var apiSettings = args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--stock-sink").ToArray();
args = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var apiDll = Path.GetFullPath(args.Length > 0 ? args[0] : throw new ArgumentException("usage: Email.Bench <Api.dll> [jobs] [workers] [threads] [--Key=Value…]"));
var jobs = args.Length > 1 ? int.Parse(args[1]) : 10_000;
var workers = args.Length > 2 ? int.Parse(args[2]) : 20;
var threads = args.Length > 3 ? int.Parse(args[3]) : 4;
var deadline = TimeSpan.FromMinutes(args.Length > 4 ? double.Parse(args[4]) : 5);
// Enough to get past tiered JIT compilation: after 200 jobs the JIT thread still took 16 % of the API's CPU (perf).
var warmUpJobs = Math.Min(jobs, 2_000);

var folder = Directory.CreateTempSubdirectory("email-bench").FullName;
var processes = new List<Process>();
try
{
    // --- Redis: append-only file with fsync every second, Redis' own recommendation for durability. ---------------
    // Its own folder: the API watches its content root for configuration changes, and an append-only file growing
    // there kept the API's file-watcher thread busy (3 % of its CPU in a perf profile).
    var redisPort = FreePort.Next();
    var redisFolder = Directory.CreateDirectory(Path.Combine(folder, "redis")).FullName;
    var apiFolder = Directory.CreateDirectory(Path.Combine(folder, "api")).FullName;
    var redisServer = Start("redis-server", ["--bind", "127.0.0.1", "--port", redisPort.ToString(), "--dir", redisFolder, "--save", "",
        "--appendonly", "yes", "--appendfsync", "everysec"]);
    processes.Add(redisServer);
    var redis = $"127.0.0.1:{redisPort},abortConnect=false";
    await WaitAsync(async () =>
    {
        using var probe = new TcpClient();
        try { await probe.ConnectAsync(IPAddress.Loopback, redisPort); return true; } catch (SocketException) { return false; }
    }, "redis-server to listen");

    // --- SMTP sink: counts messages and notes when each arrived, by the user id in its Message-ID. ----------------
    var sink = new Sink();
    var smtpPort = FreePort.Next();
    var smtp = new SmtpServer.SmtpServer(
        new SmtpServerOptionsBuilder().ServerName("localhost").Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, smtpPort))).Build(),
        WithStore(sink, stockSink));
    _ = smtp.StartAsync(CancellationToken.None);
    await WaitAsync(async () =>
    {
        using var probe = new TcpClient();
        try { await probe.ConnectAsync(IPAddress.Loopback, smtpPort); return true; } catch (SocketException) { return false; }
    }, "the SMTP sink to listen");

    // --- The API as its own process, Release build. -----------------------------------------------------------------
    var apiPort = FreePort.Next();
    var api = Start("dotnet", [apiDll, "--urls", $"http://127.0.0.1:{apiPort}", "--contentRoot", apiFolder,
        $"--ConnectionStrings:Redis={redis}", "--Email:Smtp:Host=127.0.0.1", $"--Email:Smtp:Port={smtpPort}",
        $"--Queue:Workers={workers}", "--Logging:LogLevel:Default=Warning", .. apiSettings], environment: ("DOTNET_ENVIRONMENT", "Production"));
    processes.Add(api);
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/"), Timeout = TimeSpan.FromSeconds(5) };
    await WaitAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, "the API to be ready");

    // --- Client: the same storage and serializer settings as the API. ----------------------------------------------
    GlobalConfiguration.Configuration.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
        .UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();
    using var storageConnection = StackExchange.Redis.ConnectionMultiplexer.Connect(redis);
    var storage = new RedisStorage(storageConnection, new RedisStorageOptions { Prefix = "{hangfire}:" });
    var client = new BackgroundJobClient(storage);
    var jobType = typeof(WelcomeEmail).Assembly.GetType("Api.Email.WelcomeEmailJob", throwOnError: true)!;
    var method = jobType.GetMethod("SendAsync")!;
    void Enqueue() => client.Create(
        new Job(jobType, method, new WelcomeEmail(Guid.CreateVersion7(), "Bench", "bench@example.com"), null, CancellationToken.None),
        new EnqueuedState(EmailExtensions.Queue));

    // Hangfire's client is synchronous: dedicated threads, so that blocked enqueuers do not starve the thread pool
    // that completes their Redis calls (and runs the SMTP sink).
    void EnqueueFromThreads(int count)
    {
        var next = 0;
        var enqueuers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            while (Interlocked.Increment(ref next) <= count) Enqueue();
        })).ToList();
        enqueuers.ForEach(thread => thread.Start());
        enqueuers.ForEach(thread => thread.Join());
    }

    Console.WriteLine($"jobs {jobs}, API workers {workers}, enqueue threads {threads}, cores {Environment.ProcessorCount}" +
        (apiSettings.Length > 0 ? $", API settings {string.Join(' ', apiSettings)}" : "") + $", warm-up {warmUpJobs} jobs");

    // Warm-up: JIT, connection pools, Hangfire's server start.
    EnqueueFromThreads(warmUpJobs);
    await WaitAsync(() => Task.FromResult(sink.Count >= warmUpJobs), "the warm-up jobs");
    sink.Reset();

    var cpuBefore = (Api: Cpu(api), Redis: Cpu(redisServer), Bench: Cpu(Process.GetCurrentProcess()));
    var clock = Stopwatch.StartNew();
    EnqueueFromThreads(jobs);
    var enqueued = clock.Elapsed;
    await WaitAsync(() => Task.FromResult(sink.Count >= jobs), $"{jobs} deliveries", () => $"{sink.Count} delivered");
    var delivered = clock.Elapsed;
    var cpu = (Api: Cpu(api) - cpuBefore.Api, Redis: Cpu(redisServer) - cpuBefore.Redis, Bench: Cpu(Process.GetCurrentProcess()) - cpuBefore.Bench);
    double PerJob(TimeSpan time) => time.TotalMilliseconds / jobs;
    var cpuPerJob = PerJob(cpu.Api) + PerJob(cpu.Redis) + PerJob(cpu.Bench);

    var latencies = sink.LatenciesMs();
    var metrics = await http.GetStringAsync("/metrics");
    Console.WriteLine();
    Console.WriteLine("| measure | value |");
    Console.WriteLine("| --- | --- |");
    Console.WriteLine($"| jobs enqueued → delivered | {jobs:N0} → {sink.Count:N0} |");
    Console.WriteLine($"| enqueue rate ({threads} threads) | {jobs / enqueued.TotalSeconds:N0} jobs/s ({enqueued.TotalSeconds:N1} s) |");
    Console.WriteLine($"| **end-to-end throughput** (first enqueue → last delivery) | **{jobs / delivered.TotalSeconds:N0} jobs/s** ({delivered.TotalSeconds:N1} s) |");
    Console.WriteLine($"| enqueue → delivery latency p50 / p95 / p99 / max | {Percentile(latencies, 0.50):N0} / {Percentile(latencies, 0.95):N0} / {Percentile(latencies, 0.99):N0} / {latencies[^1]:N0} ms |");
    Console.WriteLine($"| CPU per job: API / redis-server / this process (enqueue + SMTP sink) | {PerJob(cpu.Api):N2} / {PerJob(cpu.Redis):N2} / {PerJob(cpu.Bench):N2} ms |");
    Console.WriteLine($"| CPU-bound ceiling on {Environment.ProcessorCount} cores (all CPU per job) / the API alone on one core | {Environment.ProcessorCount * 1000 / cpuPerJob:N0} / {1000 / PerJob(cpu.Api):N0} jobs/s |");
    Console.WriteLine($"| load average at the end (the machine's other work competes) | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |");
    Console.WriteLine($"| {Line(metrics, "queue_jobs_completed_total{")} |");
    Console.WriteLine($"| {Line(metrics, "queue_jobs_failed_total{")} |");
}
finally
{
    foreach (var process in processes)
    {
        try { process.Kill(entireProcessTree: true); process.WaitForExit(5000); } catch (InvalidOperationException) { }
    }

    try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
}

static TimeSpan Cpu(Process process)
{
    process.Refresh();
    return process.TotalProcessorTime;
}

static string Line(string metrics, string prefix) =>
    metrics.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains("queue=\"email\""))?.Replace(" ", " | ") ?? prefix + " | missing";

static Process Start(string file, string[] arguments, (string Key, string Value)? environment = null)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var argument in arguments) info.ArgumentList.Add(argument);
    if (environment is { } variable) info.Environment[variable.Key] = variable.Value;
    var process = Process.Start(info)!;
    process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine(e.Data); };
    process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine(e.Data); };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

async Task WaitAsync(Func<Task<bool>> probe, string what, Func<string>? state = null)
{
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < deadline)
    {
        try { if (await probe()) return; } catch (HttpRequestException) { } catch (TaskCanceledException) { }
        await Task.Delay(20);
    }

    throw new TimeoutException($"Gave up waiting for {what} after {deadline}. {state?.Invoke()}");
}

static SmtpServer.ComponentModel.ServiceProvider WithStore(IMessageStore store, bool stockListener)
{
    var services = new SmtpServer.ComponentModel.ServiceProvider();
    services.Add(store);
    if (!stockListener)
    {
        services.Add(new NoDelayListenerFactory());
    }

    return services;
}

/// <summary>Notes the arrival of each message against the creation time inside its user id (a version 7 GUID, ms).</summary>
internal sealed class Sink : MessageStore
{
    private static readonly byte[] Marker = Encoding.ASCII.GetBytes("<welcome-");
    private ConcurrentBag<double> _latencies = [];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Reset()
    {
        _latencies = [];
        Interlocked.Exchange(ref _count, 0);
    }

    public double[] LatenciesMs()
    {
        var sorted = _latencies.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var bytes = buffer.ToArray();
        var at = bytes.AsSpan().IndexOf(Marker);
        if (at >= 0 && Guid.TryParse(Encoding.ASCII.GetString(bytes, at + Marker.Length, 36), out var id))
        {
            // A version 7 GUID starts with its 48-bit Unix time in milliseconds.
            var created = Convert.ToInt64(id.ToString("N")[..12], 16);
            _latencies.Add(now - created);
        }

        Interlocked.Increment(ref _count);
        return Task.FromResult(SmtpResponse.Ok);
    }
}
