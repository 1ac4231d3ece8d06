// How many concurrent SignalR connections one instance holds, the server's memory per connection, and broadcast
// latency to 1,000 clients. Starts the built Api.dll as its own process on loopback and talks raw SignalR JSON over
// WebSockets (skipping negotiation), which keeps the client side cheap enough to share the machine. Run via run.sh.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using Shared.Net;
using static Bench.Shared.BenchHelpers;

var apiDll = args.Length > 0 ? Path.GetFullPath(args[0]) : throw new ArgumentException("usage: Realtime.Bench <path/to/Api.dll> [target connections]");
var target = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
const int BroadcastClients = 1_000;
const int Broadcasts = 30;
using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(8));
var ct = deadline.Token;

var folder = Directory.CreateTempSubdirectory("realtime-bench").FullName;
var port = FreePort.Next();
var baseAddress = new Uri($"http://127.0.0.1:{port}/");
using var server = StartServer(apiDll, baseAddress, folder);
using var http = new HttpClient { BaseAddress = baseAddress };
var clients = new List<Client>();
try
{
    await WaitForServerAsync(http, ct);
    await http.PostAsJsonAsync("/api/users", new { name = "warm-up", email = "warm-up@example.com" }, ct);
    var rssIdle = Rss(server.Id);

    // 1. Broadcast latency to 1,000 clients: time from sending POST /api/users to each client's receipt of userCreated.
    await ConnectAsync(clients, BroadcastClients, baseAddress, ct);
    var perClient = new List<double>();
    var lastClient = new List<double>();
    for (var i = 0; i < Broadcasts; i++)
    {
        var round = Round.Begin(clients.Count);
        foreach (var client in clients)
        {
            client.Round = round;
        }

        using var response = await http.PostAsJsonAsync("/api/users", new { name = $"bench {i}", email = $"bench-{i}-{Guid.NewGuid():N}@example.com" }, ct);
        response.EnsureSuccessStatusCode();
        await round.AllReceived.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        perClient.AddRange(round.Milliseconds);
        lastClient.Add(round.Milliseconds.Max());
    }

    // 2. Ramp up to the target, recording how many the server holds and what they cost it in memory.
    var ramp = Stopwatch.StartNew();
    var failures = await ConnectAsync(clients, target - clients.Count, baseAddress, ct);
    var rampSeconds = ramp.Elapsed.TotalSeconds;
    await Task.Delay(TimeSpan.FromSeconds(3), ct); // Let the server settle before reading memory.
    var held = await GaugeAsync(http, ct);
    var rssFull = Rss(server.Id);

    perClient.Sort();
    lastClient.Sort();
    Console.WriteLine($"target connections           {target}");
    Console.WriteLine($"held (websocket_connections_total) {held}");
    Console.WriteLine($"failed connects              {failures}");
    Console.WriteLine($"ramp {BroadcastClients}->{target}           {rampSeconds:0.0} s");
    Console.WriteLine($"server RSS idle / full       {rssIdle / 1048576.0:0.0} MiB / {rssFull / 1048576.0:0.0} MiB");
    Console.WriteLine($"server memory per connection {(rssFull - rssIdle) / (double)held / 1024:0.0} KiB");
    Console.WriteLine($"broadcast to {BroadcastClients} clients ({Broadcasts} broadcasts):");
    Console.WriteLine($"  per client  p50 {Percentile(perClient, 0.5):0.0} ms  p95 {Percentile(perClient, 0.95):0.0} ms  p99 {Percentile(perClient, 0.99):0.0} ms  max {perClient[^1]:0.0} ms");
    Console.WriteLine($"  last client p50 {Percentile(lastClient, 0.5):0.0} ms  max {lastClient[^1]:0.0} ms");
}
finally
{
    foreach (var client in clients)
    {
        client.Socket.Abort();
    }

    await Task.WhenAll(clients.Select(c => c.Receiving));
    clients.ForEach(c => c.Socket.Dispose());

    server.Kill(entireProcessTree: true);
    await server.WaitForExitAsync(CancellationToken.None);
    Directory.Delete(folder, recursive: true);
}

static async Task<int> ConnectAsync(List<Client> clients, int count, Uri baseAddress, CancellationToken ct)
{
    var failures = 0;
    var uri = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
    using var throttle = new SemaphoreSlim(64);
    var connecting = Enumerable.Range(0, count).Select(async _ =>
    {
        await throttle.WaitAsync(ct);
        try
        {
            var client = await Client.ConnectAsync(uri, ct);
            lock (clients)
            {
                clients.Add(client);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or HttpRequestException)
        {
            Interlocked.Increment(ref failures);
        }
        finally
        {
            throttle.Release();
        }
    });
    await Task.WhenAll(connecting);
    return failures;
}

static async Task<double> GaugeAsync(HttpClient http, CancellationToken ct)
{
    var text = await http.GetStringAsync("/metrics", ct);
    var line = text.Split('\n').First(l => l.StartsWith("websocket_connections_total{", StringComparison.Ordinal));
    return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}

static long Rss(int pid)
{
    var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
}

static Process StartServer(string apiDll, Uri baseAddress, string folder)
{
    var info = new ProcessStartInfo("dotnet")
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        WorkingDirectory = folder,
    };
    foreach (var argument in new[]
    {
        apiDll, "--urls", baseAddress.ToString().TrimEnd('/'), "--contentRoot", folder,
        $"--ConnectionStrings:Sqlite=Data Source={Path.Combine(folder, "bench.db")}",
        "--Logging:LogLevel:Default=Warning",
    })
    {
        info.ArgumentList.Add(argument);
    }

    info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
    var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the API");
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"api: {e.Data}"); } };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitForServerAsync(HttpClient http, CancellationToken ct)
{
    for (var i = 0; i < 300; i++)
    {
        try
        {
            if ((await http.GetAsync("/health/live", ct)).IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(100, ct);
    }

    throw new TimeoutException("the API did not start");
}

/// <summary>One broadcast: when it was sent and when each client heard it.</summary>
sealed class Round
{
    private int _remaining;
    public long Start { get; private init; }
    public List<double> Milliseconds { get; } = [];
    public TaskCompletionSource AllReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static Round Begin(int clients) => new() { _remaining = clients, Start = Stopwatch.GetTimestamp() };

    public void Received()
    {
        var elapsed = Stopwatch.GetElapsedTime(Start).TotalMilliseconds;
        lock (Milliseconds)
        {
            Milliseconds.Add(elapsed);
        }

        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            AllReceived.TrySetResult();
        }
    }
}

/// <summary>A raw SignalR JSON client: handshake, then a receive loop that notes userCreated and answers the server's pings.</summary>
sealed class Client
{
    private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
    private static readonly byte[] Ping = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");
    private static readonly byte[] UserCreated = Encoding.UTF8.GetBytes("\"userCreated\"");

    public required ClientWebSocket Socket { get; init; }
    public Round? Round { get; set; }
    public Task Receiving { get; private set; } = Task.CompletedTask;

    public static async Task<Client> ConnectAsync(Uri uri, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, ct);
        await socket.SendAsync(Handshake, WebSocketMessageType.Text, true, ct);
        var buffer = new byte[1024];
        var result = await socket.ReceiveAsync(buffer, ct);
        if (result.Count < 3 || buffer[0] != (byte)'{' || buffer[1] != (byte)'}')
        {
            throw new WebSocketException("handshake refused: " + Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        var client = new Client { Socket = socket };
        client.Receiving = client.ReceiveLoopAsync(ct);
        return client;
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[4096];
        try
        {
            while (Socket.State == WebSocketState.Open)
            {
                var result = await Socket.ReceiveAsync(buffer, ct);
                var data = buffer.AsSpan(0, result.Count);
                if (data.IndexOf(UserCreated) >= 0)
                {
                    Round?.Received();
                }
                else if (data.IndexOf("\"type\":6"u8) >= 0)
                {
                    // Answer the server's keep-alive so this idle client is not timed out during the run.
                    await Socket.SendAsync(Ping, WebSocketMessageType.Text, true, ct);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The run ended or the server dropped us; the gauge tells.
        }
    }
}
