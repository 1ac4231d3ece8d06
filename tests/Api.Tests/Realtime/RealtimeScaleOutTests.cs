using System.Net;
using System.Net.Http.Json;
using Api.Realtime;
using Api.Tests.Infrastructure;
using Api.Users;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Api.Tests.Realtime;

/// <summary>Two app processes on one real redis-server: the SignalR Redis backplane carries events between them.</summary>
public sealed class RealtimeScaleOutTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly List<string> _folders = [];
    private RedisServer _redis = null!;
    private AppProcess _a = null!;
    private AppProcess _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var started = await Task.WhenAll(StartAppAsync(), StartAppAsync());
        (_a, _b) = (started[0], started[1]);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _redis.DisposeAsync();
        _folders.ForEach(TempFolder.Delete);
    }

    [Fact]
    public async Task A_user_created_on_one_instance_reaches_clients_of_the_other_and_each_counts_its_own()
    {
        await using var onA = Connect(_a);
        await using var onB = Connect(_b);
        var heardOnA = Listen(onA);
        var heardOnB = Listen(onB);
        await Task.WhenAll(onA.StartAsync(), onB.StartAsync());

        var user = await CreateUserAsync(_a, "Scaled Out");

        Assert.Equal(new UserCreatedEvent(user.Id, "Scaled Out"), await heardOnB.WaitAsync(Patience));
        Assert.Equal(new UserCreatedEvent(user.Id, "Scaled Out"), await heardOnA.WaitAsync(Patience));
        await GaugeReachesAsync(_a, 1);
        await GaugeReachesAsync(_b, 1);
    }

    [Fact]
    public async Task When_redis_dies_the_api_keeps_answering_and_delivery_resumes_when_it_returns()
    {
        await using var onB = Connect(_b);
        await onB.StartAsync();
        var heard = new List<Guid>();
        onB.On<UserCreatedEvent>("userCreated", e => { lock (heard) { heard.Add(e.Id); } });

        await _redis.KillAsync();

        // The broadcast is best effort and the welcome email waits in the outbox (src/Api/Email) until this Redis, also
        // the job storage, is back: sign-ups go on during the outage. Hubs stay up.
        await CreateUserAsync(_a, "During Outage");
        Assert.Equal(HubConnectionState.Connected, onB.State);
        await GaugeReachesAsync(_b, 1);

        await _redis.RestartAsync();

        // The backplane resubscribes on its own; keep creating users until one reaches the other instance.
        await Eventually.HoldsAsync(async () =>
        {
            var user = await CreateUserAsync(_a, "After Outage");
            await Task.Delay(200);
            lock (heard)
            {
                return heard.Contains(user.Id);
            }
        }, Patience, "a userCreated event to cross instances again after Redis came back", () => _a.Output + _b.Output);
    }

    private async Task<AppProcess> StartAppAsync()
    {
        var folder = TempFolder.Create("api-tests-realtime");
        lock (_folders)
        {
            _folders.Add(folder);
        }

        return await AppProcess.StartAsync(folder, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, "app.db")}",
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
        });
    }

    private static HubConnection Connect(AppProcess app) => new HubConnectionBuilder()
        .WithUrl(new Uri(app.BaseAddress, RealtimeExtensions.HubPath), HttpTransportType.WebSockets)
        .Build();

    private static Task<UserCreatedEvent> Listen(HubConnection connection)
    {
        var heard = new TaskCompletionSource<UserCreatedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<UserCreatedEvent>("userCreated", e => heard.TrySetResult(e));
        return heard.Task;
    }

    private static async Task<UserResponse> CreateUserAsync(AppProcess app, string name)
    {
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Patience };
        return await http.CreateUserAsync(name);
    }

    private static async Task GaugeReachesAsync(AppProcess app, double expected)
    {
        using var http = new HttpClient { BaseAddress = app.BaseAddress };
        await Eventually.HoldsAsync(async () => (await MetricsScrape.FetchAsync(http)).Sum(RealtimeMetrics.ConnectionsTotal) == expected,
            Patience, $"{RealtimeMetrics.ConnectionsTotal} on {app.BaseAddress} to read {expected}");
    }
}
