using System.Net.WebSockets;
using Api.Realtime;
using Api.Users;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Api.Tests.Realtime;

[Collection(InProcessApp.Name)]
public sealed class RealtimeHubTests(RealtimeHubTests.App app) : IClassFixture<RealtimeHubTests.App>
{
    /// <summary>A short client timeout, so that a dead client must be noticed within seconds.</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(2);

    public sealed class App() : ApiFactory(new Dictionary<string, string?>
    {
        ["Realtime:KeepAliveInterval"] = "00:00:00.500",
        ["Realtime:ClientTimeoutInterval"] = ClientTimeout.ToString(),
    });

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task A_hundred_concurrent_clients_count_a_hundred_and_zero_once_closed()
    {
        var connections = Enumerable.Range(0, 100).Select(_ => Connect()).ToList();
        try
        {
            await Task.WhenAll(connections.Select(c => c.StartAsync()));
            await GaugeReachesAsync(100);
        }
        finally
        {
            await Task.WhenAll(connections.Select(c => c.DisposeAsync().AsTask()));
        }

        await GaugeReachesAsync(0);

        // A WebSocket request lasts as long as its connection: kept out of the HTTP latency metrics.
        var scrape = await MetricsScrape.FetchAsync(_client);
        Assert.DoesNotContain(scrape.Samples, s => s.Label("route").StartsWith(RealtimeExtensions.HubPath, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_that_goes_silent_is_dropped_within_the_client_timeout()
    {
        using var cancellation = new CancellationTokenSource(Patience);
        // Handshakes, then never sends again and never closes: a client whose network vanished.
        await using var silent = await RawSignalRClient.ConnectAsync(app.BaseAddress, cancellation.Token);
        await GaugeReachesAsync(1);

        // The gauge must fall on the server's own timeout; the socket is still open on our side.
        await GaugeReachesAsync(0, ClientTimeout + TimeSpan.FromSeconds(5));
        var close = await Assert.ThrowsAsync<WebSocketException>(() => silent.ReceiveAsync(type: 1, cancellation.Token));
        Assert.Contains("closed", close.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_answers_websocket_pings_but_sends_nothing_is_dropped_within_the_client_timeout()
    {
        using var cancellation = new CancellationTokenSource(Patience);
        await using var mute = await RawSignalRClient.ConnectAsync(app.BaseAddress, cancellation.Token);
        // Reading keeps the socket answering the server's WebSocket pings (the runtime answers them during a receive),
        // so only SignalR's own client timeout can tell that this client never sends a message.
        var reading = mute.ReceiveAsync(type: 7, cancellation.Token);
        await GaugeReachesAsync(1);

        await GaugeReachesAsync(0, ClientTimeout + TimeSpan.FromSeconds(5));
        var closed = await Assert.ThrowsAnyAsync<Exception>(() => reading);
        Assert.False(cancellation.IsCancellationRequested, $"the server did not close the connection: {closed.Message}");
    }

    [Fact]
    public async Task A_client_whose_socket_is_cut_without_a_close_is_uncounted()
    {
        using var cancellation = new CancellationTokenSource(Patience);
        var cut = await RawSignalRClient.ConnectAsync(app.BaseAddress, cancellation.Token);
        // Ping like a live client until the gauge is seen at 1: on a loaded machine the first scrape can take longer
        // than the server's client timeout, which would otherwise drop the silent client before it is ever counted.
        using var alive = CancellationTokenSource.CreateLinkedTokenSource(cancellation.Token);
        var pinging = Task.Run(async () =>
        {
            while (!alive.IsCancellationRequested)
            {
                // Not cancelled mid-send: a cancelled WebSocket send aborts the socket before the test means to.
                await cut.SendAsync("""{"type":6}""", CancellationToken.None);
                await Task.Delay(TimeSpan.FromMilliseconds(250), alive.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        });
        await GaugeReachesAsync(1);
        await alive.CancelAsync();
        await pinging;

        // Abort drops the TCP connection with no WebSocket close frame, as the kernel does for a kill -9'd process.
        await cut.DisposeAsync();

        await GaugeReachesAsync(0, ClientTimeout + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_raw_websocket_client_that_skips_negotiation_can_ping_and_hears_userCreated()
    {
        using var cancellation = new CancellationTokenSource(Patience);
        await using var raw = await RawSignalRClient.ConnectAsync(app.BaseAddress, cancellation.Token);

        await raw.SendAsync("""{"type":1,"invocationId":"1","target":"Ping","arguments":[]}""", cancellation.Token);
        var pong = await raw.ReceiveAsync(type: 3, cancellation.Token);
        Assert.Equal("1", pong.GetProperty("invocationId").GetString());
        Assert.Equal("pong", pong.GetProperty("result").GetProperty("message").GetString());

        await raw.SendAsync("""{"type":1,"invocationId":"2","target":"Echo","arguments":["hello"]}""", cancellation.Token);
        var echo = await raw.ReceiveAsync(type: 3, cancellation.Token);
        Assert.Equal("2", echo.GetProperty("invocationId").GetString());
        Assert.Equal("hello", echo.GetProperty("result").GetProperty("message").GetString());

        var user = await CreateUserAsync("Raw Listener");
        var invocation = await raw.ReceiveAsync(type: 1, cancellation.Token);
        Assert.Equal("userCreated", invocation.GetProperty("target").GetString());
        var payload = invocation.GetProperty("arguments")[0];
        Assert.Equal(user.Id, payload.GetProperty("id").GetGuid());
        Assert.Equal("Raw Listener", payload.GetProperty("name").GetString());
    }

    [Fact]
    public async Task UserCreated_reaches_every_connected_client()
    {
        var connections = Enumerable.Range(0, 10).Select(_ => Connect()).ToList();
        var received = connections.Select(c =>
        {
            var heard = new TaskCompletionSource<UserCreatedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            c.On<UserCreatedEvent>("userCreated", e => heard.TrySetResult(e));
            return heard.Task;
        }).ToList();
        try
        {
            await Task.WhenAll(connections.Select(c => c.StartAsync()));

            var user = await CreateUserAsync("Broadcast");

            var events = await Task.WhenAll(received).WaitAsync(Patience);
            Assert.All(events, e => Assert.Equal(new UserCreatedEvent(user.Id, "Broadcast"), e));
            Assert.Equal("pong", (await connections[0].InvokeAsync<Pong>(nameof(NotificationsHub.Ping))).Message);
            Assert.Equal("hi", (await connections[0].InvokeAsync<Pong>(nameof(NotificationsHub.Echo), "hi")).Message);
        }
        finally
        {
            await Task.WhenAll(connections.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task The_hub_refuses_transports_other_than_websockets()
    {
        var negotiate = await _client.PostAsync("/ws/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        var body = await negotiate.Content.ReadAsStringAsync();
        Assert.Contains("WebSockets", body, StringComparison.Ordinal);
        Assert.DoesNotContain("LongPolling", body, StringComparison.Ordinal);
        Assert.DoesNotContain("ServerSentEvents", body, StringComparison.Ordinal);
    }

    private HubConnection Connect() => new HubConnectionBuilder()
        .WithUrl(new Uri(app.BaseAddress, RealtimeExtensions.HubPath), HttpTransportType.WebSockets)
        // Clients must ping more often than the server's timeout; the default (15 s) suits the default 30 s.
        .WithKeepAliveInterval(TimeSpan.FromMilliseconds(500))
        .Build();

    private Task<UserResponse> CreateUserAsync(string name) => _client.CreateUserAsync(name);

    private Task GaugeReachesAsync(double expected, TimeSpan? within = null)
    {
        double last = double.NaN;
        return Eventually.HoldsAsync(async () =>
        {
            last = (await MetricsScrape.FetchAsync(_client)).Sum(RealtimeMetrics.ConnectionsTotal);
            return last == expected;
        }, within ?? Patience, $"{RealtimeMetrics.ConnectionsTotal} to read {expected}", () => $"last read {last}");
    }
}
