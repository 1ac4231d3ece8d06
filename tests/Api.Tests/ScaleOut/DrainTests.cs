using System.Net.WebSockets;
using Api.Tests.Realtime;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Api.Tests.ScaleOut;

/// <summary>
/// SIGTERM as a rolling deploy sends it: readiness fails at once while the instance still serves, WebSocket clients
/// get SignalR's close message with allowReconnect and a close frame (a client with automatic reconnect reconnects),
/// and the process exits 0 without a <c>fail</c> line.
/// </summary>
public sealed class DrainTests
{
    [Fact]
    public async Task Sigterm_fails_readiness_at_once_keeps_serving_through_the_drain_closes_websockets_for_reconnect_and_exits_0()
    {
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["Shutdown:DrainSeconds"] = "4",
            // As the shipped appsettings.json has it: a failing check is the readiness answer, not an error to log.
            ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
        }, name: "drain", ownHome: true);
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await app.WaitUntilReadyAsync();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var raw = await RawSignalRClient.ConnectAsync(app.BaseAddress, patience.Token);
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "/ws"), options => { options.SkipNegotiation = true; options.Transports = HttpTransportType.WebSockets; })
            .WithAutomaticReconnect([TimeSpan.FromSeconds(30)])
            .Build();
        var reconnecting = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Reconnecting += error => { reconnecting.TrySetResult(error); return Task.CompletedTask; };
        hub.Closed += error => { closed.TrySetResult(error); return Task.CompletedTask; };
        await hub.StartAsync(patience.Token);

        var exited = app.Process.TerminateAsync(TimeSpan.FromSeconds(60));

        await Eventually.HoldsAsync(async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(10), "readiness to fail after SIGTERM", () => app.Output);
        // Still serving: the balancer's requests already on their way are answered.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HubConnectionState.Connected, hub.State);

        var close = await raw.ReceiveAsync(7, patience.Token);
        Assert.True(close.GetProperty("allowReconnect").GetBoolean(), close.ToString());
        await Assert.ThrowsAsync<WebSocketException>(() => raw.ReceiveAsync(1, patience.Token));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, raw.CloseStatus);
        var winner = await Task.WhenAny(reconnecting.Task, closed.Task).WaitAsync(patience.Token);
        Assert.True(winner == reconnecting.Task, "the .NET client closed instead of reconnecting");

        Assert.Equal(0, await exited);
        Assert.False(app.Output.Contains("fail:", StringComparison.Ordinal), app.Output);
    }
}
