using Api.Realtime;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Api.Tests.Realtime;

/// <summary>
/// /health/ready and the SignalR Redis backplane: an instance is not ready until its backplane has connected (the job
/// storage alone would only degrade it), hears broadcasts once Redis comes up late, and reports a hung backplane as
/// Degraded, logging it under its own name, then recovers.
/// </summary>
public sealed class BackplaneReadinessTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private RedisServer _redis = null!;
    private TempApp _app = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        await _redis.KillAsync(); // its port known, nothing listening: Redis down from the app's first second
        _app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
            ["Health:CheckTimeoutMilliseconds"] = "2000",
            ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
        }, name: "backplane-ready");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Ready_only_once_the_backplane_is_connected_and_degraded_while_it_hangs()
    {
        using var http = new HttpClient { BaseAddress = _app.BaseAddress, Timeout = Patience };

        // Started and serving, but never connected to its backplane: not ready (the job storage alone would say Degraded).
        await Eventually.HoldsAsync(async () => (await http.GetAsync("/health/live")).IsSuccessStatusCode, Patience, "live", () => _app.Output);
        for (var probe = 0; probe < 3; probe++)
        {
            using var ready = await http.GetAsync("/health/ready");
            Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}\n{_app.Output}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        await _redis.RestartAsync();
        await Eventually.HoldsAsync(async () => await ReadinessAsync(http) == "Healthy", Patience, "ready once Redis is up", () => _app.Output);

        // The late backplane carries broadcasts: this instance's own client hears a sign-up through Redis.
        await using (var client = new HubConnectionBuilder().WithUrl(new Uri(_app.BaseAddress, RealtimeExtensions.HubPath), HttpTransportType.WebSockets).Build())
        {
            var heard = new List<Guid>();
            client.On<UserCreatedEvent>("userCreated", e => { lock (heard) { heard.Add(e.Id); } });
            await client.StartAsync();
            await Eventually.HoldsAsync(async () =>
            {
                var user = await http.CreateUserAsync("Late Backplane");
                await Task.Delay(200);
                lock (heard)
                {
                    return heard.Contains(user.Id);
                }
            }, Patience, "a broadcast through the backplane that connected late", () => _app.Output);
        }

        _redis.Hang();
        try
        {
            await Eventually.HoldsAsync(async () => await ReadinessAsync(http) == "Degraded" &&
                    _app.Output.Contains("The SignalR backplane (readiness) is unavailable", StringComparison.Ordinal),
                Patience, "a hung backplane reported as Degraded, under its own name", () => _app.Output);
        }
        finally
        {
            _redis.Resume();
        }

        await Eventually.HoldsAsync(async () => await ReadinessAsync(http) == "Healthy", Patience, "healthy again", () => _app.Output);
    }

    /// <summary>The body of a 200 (Healthy or Degraded); "503" when not ready.</summary>
    private static async Task<string> ReadinessAsync(HttpClient http)
    {
        using var ready = await http.GetAsync("/health/ready");
        return ready.IsSuccessStatusCode ? await ready.Content.ReadAsStringAsync() : ((int)ready.StatusCode).ToString();
    }
}
