using System.Net.WebSockets;
using System.Text;
//#if (users)
using Api.Users;
//#endif
using Hangfire;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Api.Tests.Monitoring;

/// <summary>
/// The whole monitoring chain on loopback, from the project's own files: the app (on PostgreSQL and Redis), the
/// PostgreSQL, Redis and node exporters, Alertmanager mailing to an SMTP server, and Prometheus scraping them all
/// with prometheus.yml and alerts.yml as rewritten by <see cref="MonitoringConfig"/>.
/// </summary>
public sealed class MonitoringStack : IAsyncLifetime
{
    public const string ApiKey = "e2e-scrape-key";

    /// <summary>
    /// A request with this header fails the way a dependency call that timed out fails (HttpClient's
    /// TaskCanceledException), on whatever route it asks for, which nothing in the app handles: the client gets 500.
    /// </summary>
    public const string FaultHeader = "X-Monitoring-Test-Fault";
//#if (users)

    /// <summary>A user whose name starts with this makes the creation step throw: the client gets 503.</summary>
    public const string FailingNamePrefix = "fail-";

    /// <summary>
    /// A user whose name starts with this makes the creation step throw what a dependency call that timed out throws
    /// (HttpClient's TaskCanceledException), which nothing in the app handles: the client gets 500.
    /// </summary>
    public const string CrashingNamePrefix = "crash-";
//#endif

    private readonly string _folder = TempFolder.Create("api-tests-monitoring");
    private readonly List<ClientWebSocket> _webSockets = [];

    public App Api { get; private set; } = null!;
    public RedisServer Redis { get; private set; } = null!;
    public ExporterProcess PostgresExporter { get; private set; } = null!;
    public ExporterProcess RedisExporter { get; private set; } = null!;
    public ExporterProcess NodeExporter { get; private set; } = null!;
    /// <summary>The SMTP server Alertmanager mails alerts to (Mailpit's place in docker-compose.yml).</summary>
    public SmtpSink Mail { get; private set; } = null!;
    public AlertmanagerServer Alertmanager { get; private set; } = null!;
    public PrometheusServer Prometheus { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public sealed class App(IReadOnlyDictionary<string, string?> settings) : ApiFactory(settings)
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(services =>
            {
//#if (users)
                services.AddSingleton<IUserCreationStep, FailingStep>();
//#endif
                // Every endpoint without a policy of its own (GET / among them) passes the fault check once routed, so
                // the failure is counted under its route, as a failing dependency call in an endpoint would be.
                services.AddSingleton<IAuthorizationHandler, FaultHandler>();
                services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().AddRequirements(new FaultRequirement()).Build());
            });
        }
    }

    private sealed class FaultRequirement : IAuthorizationRequirement;

    /// <summary>The fault the tests induce on any route: <see cref="FaultHeader"/> makes the request throw.</summary>
    private sealed class FaultHandler : AuthorizationHandler<FaultRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, FaultRequirement requirement)
        {
            if (context.Resource is HttpContext http && http.Request.Headers.ContainsKey(FaultHeader))
            {
                throw new TaskCanceledException("Induced time-out of a dependency call for the monitoring test.");
            }

            context.Succeed(requirement);
            return Task.CompletedTask;
        }
    }
//#if (users)

    /// <summary>The fault the alert test induces: a creation step that fails for some users, as a broken dependency would.</summary>
    private sealed class FailingStep : IUserCreationStep
    {
        public Task RunAsync(User user, CancellationToken cancellationToken) =>
            user.Name.StartsWith(FailingNamePrefix, StringComparison.Ordinal)
                ? throw new InvalidOperationException("Induced failure for the monitoring test.")
                : user.Name.StartsWith(CrashingNamePrefix, StringComparison.Ordinal)
                    ? throw new TaskCanceledException("Induced time-out of a dependency call for the monitoring test.")
                    : Task.CompletedTask;
    }
//#endif

    public async Task InitializeAsync()
    {
        var postgres = await PostgresServer.SharedAsync();
        var database = await postgres.CreateDatabaseAsync("monitoring");
        Redis = await RedisServer.StartAsync();
        Api = new App(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database,
            ["ConnectionStrings:Redis"] = Redis.ConnectionString,
            ["Metrics:ApiKey"] = ApiKey,
//#if (realtime)
            // The test's WebSocket clients send no SignalR pings; keep them connected for the test's duration.
            ["Realtime:ClientTimeoutInterval"] = "00:10:00",
//#endif
//#if (sendsEmail)
            // No SMTP server here: the welcome emails are written as files, into this test's folder.
            ["Email:PickupDirectory"] = Path.Combine(_folder, "mail"),
//#endif
        });
        Client = Api.CreateClient();

        var builder = new NpgsqlConnectionStringBuilder(database);
        PostgresExporter = await ExporterProcess.StartPostgresAsync(
            $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}?sslmode=disable");
        RedisExporter = await ExporterProcess.StartRedisAsync(Redis.Port);
        NodeExporter = await ExporterProcess.StartNodeAsync();

        Mail = await SmtpSink.StartAsync();
        Alertmanager = await AlertmanagerServer.StartAsync(MonitoringConfig.WriteAlertmanager(_folder, Mail.Port));

        var prometheusPort = FreePort.Next();
        var config = MonitoringConfig.WritePrometheus(_folder, new Dictionary<string, string>
        {
            ["api"] = $"{Api.BaseAddress.Host}:{Api.BaseAddress.Port}",
            ["prometheus"] = $"127.0.0.1:{prometheusPort}",
            ["alertmanager"] = $"127.0.0.1:{Alertmanager.Port}",
            ["postgres"] = PostgresExporter.Address,
            ["redis"] = RedisExporter.Address,
            ["node"] = NodeExporter.Address,
        }, $"127.0.0.1:{Alertmanager.Port}", ApiKey);
        Prometheus = await PrometheusServer.StartAsync(config, prometheusPort);

        // Traffic while Prometheus watches, as in production: wait for its first scrape of the app (some seconds).
        await Eventually.HoldsAsync(async () => (await Prometheus.QueryAsync("up{job=\"api\"} == 1")).Count == 1,
            TimeSpan.FromSeconds(30), "Prometheus' first scrape of the app", Diagnostics);
        await DriveTrafficAsync();
        // The tests read what Prometheus stored: wait for a scrape after the traffic (the seed's 500 on GET /, sent by
        // every service), which the few requests of a service without users can otherwise beat.
        await Eventually.HoldsAsync(async () => (await Prometheus.QueryAsync("http_requests_total{job=\"api\", route=\"/\", status=\"500\"}")).Count == 1,
            TimeSpan.FromSeconds(30), "a scrape of the seed's traffic", Diagnostics);
    }

    /// <summary>
    /// What a freshly started service sees in its first minute: successes, client errors, server errors (one of them an
    /// unhandled exception), an unknown route and an odd method, jobs through the queue; and, where the service has
    /// them, new users (each a welcome email, a job too) and WebSocket clients that stay connected.
    /// </summary>
    private async Task DriveTrafficAsync()
    {
//#if (users)
        for (var i = 0; i < 5; i++)
        {
            var created = await Client.PostAsJsonAsync("/api/users", new { name = $"Monitored {i}", email = $"mon-{Guid.NewGuid():N}@example.com" });
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
            await Client.GetAsync(created.Headers.Location);
        }

//#endif
        for (var i = 0; i < SeedJobs; i++)
        {
            EnqueueJob();
        }

        await Client.GetAsync("/");
//#if (users)
        await Client.GetAsync($"/api/users/{Guid.CreateVersion7()}");                            // 404
        await Client.PostAsJsonAsync("/api/users", new { name = "", email = "not-an-email" });   // 400
//#endif
        await Client.GetAsync("/no-such-page");                                                  // unmatched
        await Client.SendAsync(new HttpRequestMessage(new HttpMethod("PURGE"), "/"));            // _OTHER
        await Client.PostAsync("/hangfire/signin", new FormUrlEncodedContent([new("key", "wrong")])); // rate-limited, 400 (no antiforgery token)
        await Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { { FaultHeader, "once" } } }); // 500
//#if (users)
        await Client.PostAsJsonAsync("/api/users", new { name = FailingNamePrefix + "once", email = $"f-{Guid.NewGuid():N}@example.com" }); // 503
        await Client.PostAsJsonAsync("/api/users", new { name = CrashingNamePrefix + "once", email = $"c-{Guid.NewGuid():N}@example.com" }); // 500
//#endif
//#if (realtime)

        for (var i = 0; i < 3; i++)
        {
            _webSockets.Add(await ConnectSignalRAsync());
        }
//#endif
    }

    /// <summary>Jobs <see cref="DriveTrafficAsync"/> runs through the queue, as a feature's own would.</summary>
    public const int SeedJobs = 3;

    /// <summary>A job on the queue's default queue (what a job names no queue of its own lands on).</summary>
    public void EnqueueJob() => Api.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => MonitoredJob.Run());
//#if (realtime)

    /// <summary>A SignalR client over a raw WebSocket: connect without negotiation, then the JSON protocol handshake.</summary>
    private async Task<ClientWebSocket> ConnectSignalRAsync()
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(Api.BaseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
        await socket.ConnectAsync(uri, CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[256];
        var reply = await socket.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Equal("{}\u001e", Encoding.UTF8.GetString(buffer, 0, reply.Count));
        return socket;
    }
//#endif

    /// <summary>Everything these components printed, for failure messages.</summary>
    public string Diagnostics() =>
        $"--- prometheus ---\n{Tail(Prometheus?.Output)}\n--- alertmanager ---\n{Tail(Alertmanager?.Output)}";

    private static string Tail(string? text) => text is null ? "" : text.Length > 4000 ? text[^4000..] : text;

    public async Task DisposeAsync()
    {
        foreach (var socket in _webSockets)
        {
            socket.Abort();
            socket.Dispose();
        }

        Client?.Dispose();
        foreach (var disposable in new IAsyncDisposable?[] { Prometheus, Alertmanager, Mail, NodeExporter, RedisExporter, PostgresExporter, Api, Redis })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }

        TempFolder.Delete(_folder);
    }
}

/// <summary>The job the tests run through the queue: its panels and alerts are the same for every job.</summary>
public static class MonitoredJob
{
    public static void Run()
    {
    }
}
