using Api.Realtime;
using Api.Users;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Api.Tests.Realtime;

/// <summary>Two app processes on one real redis-server: the SignalR Redis backplane carries events between them.</summary>
public sealed class RealtimeScaleOutTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private RedisServer _redis = null!;
    private TempFleet _fleet = null!;

    private TempApp A => _fleet[0];
    private TempApp B => _fleet[1];

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _fleet = await TempApp.StartFleetAsync(2, new Dictionary<string, string?> { ["ConnectionStrings:Redis"] = _redis.ConnectionString }, "realtime");
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task A_user_created_on_one_instance_reaches_clients_of_the_other_and_each_counts_its_own()
    {
        await using var onA = Connect(A);
        await using var onB = Connect(B);
        var heardOnA = Listen(onA);
        var heardOnB = Listen(onB);
        await Task.WhenAll(onA.StartAsync(), onB.StartAsync());

        var user = await CreateUserAsync(A, "Scaled Out");

        Assert.Equal(new UserCreatedEvent(user.Id, "Scaled Out"), await heardOnB.WaitAsync(Patience));
        Assert.Equal(new UserCreatedEvent(user.Id, "Scaled Out"), await heardOnA.WaitAsync(Patience));
        await GaugeReachesAsync(A, 1);
        await GaugeReachesAsync(B, 1);
    }

    [Fact]
    public async Task When_redis_dies_the_api_keeps_answering_and_delivery_resumes_when_it_returns()
    {
        await using var onB = Connect(B);
        await onB.StartAsync();
        var heard = new List<Guid>();
        onB.On<UserCreatedEvent>("userCreated", e => { lock (heard) { heard.Add(e.Id); } });

        await _redis.KillAsync();

        // The broadcast is best effort and the welcome email waits in the outbox (src/Api/Email) until this Redis, also
        // the job storage, is back: sign-ups go on during the outage. Hubs stay up.
        await CreateUserAsync(A, "During Outage");
        Assert.Equal(HubConnectionState.Connected, onB.State);
        await GaugeReachesAsync(B, 1);

        await _redis.RestartAsync();

        // The backplane resubscribes on its own; keep creating users until one reaches the other instance.
        await Eventually.HoldsAsync(async () =>
        {
            var user = await CreateUserAsync(A, "After Outage");
            await Task.Delay(200);
            lock (heard)
            {
                return heard.Contains(user.Id);
            }
        }, Patience, "a userCreated event to cross instances again after Redis came back", () => _fleet.Output);
    }

    private static HubConnection Connect(TempApp app) => new HubConnectionBuilder()
        .WithUrl(new Uri(app.BaseAddress, RealtimeExtensions.HubPath), HttpTransportType.WebSockets)
        .Build();

    private static Task<UserCreatedEvent> Listen(HubConnection connection)
    {
        var heard = new TaskCompletionSource<UserCreatedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<UserCreatedEvent>("userCreated", e => heard.TrySetResult(e));
        return heard.Task;
    }

    private static async Task<UserResponse> CreateUserAsync(TempApp app, string name)
    {
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Patience };
        return await http.CreateUserAsync(name);
    }

    private static async Task GaugeReachesAsync(TempApp app, double expected)
    {
        using var http = new HttpClient { BaseAddress = app.BaseAddress };
        await Eventually.HoldsAsync(async () => (await MetricsScrape.FetchAsync(http)).Sum(RealtimeMetrics.ConnectionsTotal) == expected,
            Patience, $"{RealtimeMetrics.ConnectionsTotal} on {app.BaseAddress} to read {expected}");
    }
}
