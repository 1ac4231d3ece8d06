using System.Diagnostics;
//#if (realtime)
using System.Net.WebSockets;
//#endif
using System.Text.Json;
using Api.Queue;
using Api.Tests.Monitoring;
//#if (realtime)
using Api.Tests.Realtime;
//#endif
using Npgsql;

namespace Api.Tests.Observability;

/// <summary>
/// The app as a real process on PostgreSQL and Redis, scraped by a real Prometheus with the shipped prometheus.yml and
/// alerts.yml, while one dependency dies or hangs. Every surface a user or Prometheus calls must keep answering: a
/// client gives each request <see cref="Patience"/> (far above the app's own timeouts), so a request that waits on the
/// outage fails the test, but no test asserts a speed (bench/Outage measures that).
/// </summary>
public sealed class DependencyOutageTests
{
    public enum Fault
    {
        RedisKilled,
        RedisHung,
        PostgresStopped,
        PostgresHung,
    }

    private const string ApiKey = "outage-scrape-key";

    /// <summary>
    /// How long a client waits for one answer: above Data:CommandTimeoutSeconds (5 s), which a request waiting on a hung
    /// database takes before its 503, and far below what a request waiting on the outage took before (10 s for a scrape,
    /// 30 s for a database command).
    /// </summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>How long each outage lasts while the surfaces are tried (Prometheus scrapes every second meanwhile).</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(12);

    [Theory]
    [InlineData(Fault.RedisKilled)]
    [InlineData(Fault.RedisHung)]
    [InlineData(Fault.PostgresStopped)]
    [InlineData(Fault.PostgresHung)]
    public async Task Every_surface_answers_through_the_outage_and_Prometheus_keeps_the_app_up_while_the_outage_alert_fires(Fault fault)
    {
        var redisFault = fault is Fault.RedisKilled or Fault.RedisHung;
        // A PostgreSQL fault needs a server of the test's own; the shared one serves the other tests.
        var ownPostgres = redisFault ? null : await PostgresServer.StartAsync();
        var postgres = ownPostgres ?? await PostgresServer.SharedAsync();
        var database = await postgres.CreateDatabaseAsync("outage");
        await using var redis = await RedisServer.StartAsync();
        var resources = new List<IAsyncDisposable>();
        try
        {
            var app = await TempApp.StartAsync(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Postgres"] = database,
                ["ConnectionStrings:Redis"] = redis.ConnectionString,
                ["Metrics:ApiKey"] = ApiKey,
                ["Queue:MetricsRefreshSeconds"] = "1",
                // Above the default (500 ms), so that a healthy database slowed by a busy test machine is not reported
                // down; still far below the client's patience, so a check that waits on the outage fails the test.
                ["Health:CheckTimeoutMilliseconds"] = "2000",
            }, name: "outage");
            resources.Add(app);
            var connection = new NpgsqlConnectionStringBuilder(database);
            var exporter = await ExporterProcess.StartPostgresAsync(
                $"postgresql://{connection.Username}@{connection.Host}:{connection.Port}/{connection.Database}?sslmode=disable");
            resources.Add(exporter);
            var prometheus = await StartPrometheusAsync(app, exporter);
            resources.Add(prometheus);
            using var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Patience };
            client.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);

            await Eventually.HoldsAsync(async () => (await prometheus.QueryAsync($"up{{job=\"api\"}} == 1 and on() {QueueMetrics.StorageUp} == 1")).Count == 1,
                Timeout, "Prometheus to scrape the app with the job storage up", () => prometheus.Output + app.Output);
            Assert.Equal(HttpStatusCode.Created, (await SignUpAsync(client)).StatusCode);

            var outage = Stopwatch.StartNew();
            switch (fault)
            {
                case Fault.RedisKilled: await redis.KillAsync(); break;
                case Fault.RedisHung: redis.Hang(); break;
                case Fault.PostgresStopped: await postgres.StopAsync(); break;
                case Fault.PostgresHung: ownPostgres!.Hang(); break;
            }

            // Every surface, again and again through the outage: each answer within the client's patience.
            var sawReadiness = false;
            var sawStorageDown = false;
            while (outage.Elapsed < Outage || !sawReadiness || (redisFault && !sawStorageDown))
            {
                Assert.True(outage.Elapsed < Timeout, $"{fault}: readiness {(sawReadiness ? "" : "never ")}reported the outage, the storage gauge {(sawStorageDown ? "" : "never ")}did\n{app.Output}");

                var metrics = MetricsScrape.Parse(await GetTextAsync(client, "/metrics", HttpStatusCode.OK));
                Assert.Single(metrics.Named(QueueMetrics.JobsWaiting), s => s.Label("queue") == JobQueues.Default);
                Assert.Single(metrics.Named(QueueMetrics.SnapshotAge));
                var storageUp = metrics.Sum(QueueMetrics.StorageUp);
                sawStorageDown |= storageUp == 0;
                if (!redisFault)
                {
                    Assert.Equal(1, storageUp); // PostgreSQL down says nothing about the job storage.
                }

                // Degraded (200) without Redis: the API still serves and emails still go out. Unhealthy (503)
                // without the database: nothing works.
                var ready = await client.GetAsync("/health/ready");
                var status = await ready.Content.ReadAsStringAsync();
                if (redisFault)
                {
                    Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                    sawReadiness |= status == "Degraded";
                }
                else
                {
                    sawReadiness |= ready.StatusCode == HttpStatusCode.ServiceUnavailable && status == "Unhealthy";
                }

                Assert.Equal("Healthy", await GetTextAsync(client, "/health/live", HttpStatusCode.OK));
                Assert.Contains("\"name\"", await GetTextAsync(client, "/", HttpStatusCode.OK));
//#if (realtime)
                await TheHubAnswersAsync(app.BaseAddress, acceptsConnections: !redisFault);
//#endif

                if (redisFault)
                {
                    // The welcome email needs no Redis (outbox, then SMTP or files); the broadcast does not hold the request.
                    var created = await SignUpAsync(client);
                    Assert.True(created.StatusCode == HttpStatusCode.Created, $"{(int)created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
                    Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/users")).StatusCode);
                }
                else
                {
                    await AssertDatabaseUnavailableAsync(await client.GetAsync("/api/users"));
                    await AssertDatabaseUnavailableAsync(await SignUpAsync(client));
                }

                await Task.Delay(250);
            }

            // The alert that names the outage fires, and the app's own target never went down meanwhile.
            string[] expected = fault switch
            {
                Fault.RedisKilled or Fault.RedisHung => ["QueueStorageDown"],
                // postgres-exporter either says pg_up 0 or, while it waits on the server, misses its own scrape.
                _ => ["PostgresDown", "TargetDown"],
            };
            var expectedJob = redisFault ? "api" : "postgres";
            await Eventually.HoldsAsync(async () => (await prometheus.AlertsAsync()).Any(a =>
                    a.State == "firing" && expected.Contains(a.Name) && a.Labels.TryGetProperty("job", out var job) && job.GetString() == expectedJob),
                Timeout, $"{string.Join(" or ", expected)} to fire", () => string.Join("\n", prometheus.AlertsAsync().Result));
            var window = (int)Math.Ceiling(outage.Elapsed.TotalSeconds);
            var up = await prometheus.QueryAsync($"min_over_time(up{{job=\"api\"}}[{window}s])");
            var scrapes = await prometheus.QueryAsync($"count_over_time(up{{job=\"api\"}}[{window}s])");
            Assert.Equal("1", Value(Assert.Single(up)));
            Assert.True(double.Parse(Value(Assert.Single(scrapes))) >= window / (2 * ScrapeInterval.TotalSeconds), $"only {Value(scrapes[0])} scrapes in {window} s");
            Assert.DoesNotContain(await prometheus.AlertsAsync(), a => a.Name is "ApiDown" or "TargetDown" && a.Labels.GetProperty("job").GetString() == "api");
        }
        finally
        {
            redis.Resume();
            ownPostgres?.Resume();
            foreach (var resource in Enumerable.Reverse(resources))
            {
                await resource.DisposeAsync();
            }

            if (ownPostgres is not null)
            {
                await ownPostgres.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Scrape interval and timeout of the test's Prometheus: 2 s, not the other tests' 1 s, so one CPU hiccup of a shared
    /// 2-core machine (parallel tests, a GC) is not a failed scrape; a scrape that waits on the dead dependency (10 s
    /// before the snapshot) still fails it.
    /// </summary>
    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(2);

    private static async Task<PrometheusServer> StartPrometheusAsync(TempApp app, ExporterProcess postgresExporter)
    {
        // What the test does not run gets an address where nothing listens: those targets are down, which no assertion reads.
        var nothing = $"127.0.0.1:{FreePort.Next()}";
        var port = FreePort.Next();
        var config = MonitoringConfig.WritePrometheus(app.Folder, new Dictionary<string, string>
        {
            ["api"] = $"{app.BaseAddress.Host}:{app.BaseAddress.Port}",
            ["prometheus"] = $"127.0.0.1:{port}",
            ["postgres"] = postgresExporter.Address,
            ["alertmanager"] = nothing,
            ["redis"] = nothing,
            ["node"] = nothing,
        }, nothing, ApiKey, scrapeInterval: ScrapeInterval);
        return await PrometheusServer.StartAsync(config, port);
    }

    private static Task<HttpResponseMessage> SignUpAsync(HttpClient client) =>
        client.PostAsJsonAsync("/api/users", new { name = "Outage", email = $"outage-{Guid.NewGuid():N}@example.com" });

    private static async Task<string> GetTextAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return text;
    }

    /// <summary>A 503 problem that says the database is unavailable, not a 500 and not a hang.</summary>
    private static async Task AssertDatabaseUnavailableAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(503, JsonDocument.Parse(text).RootElement.GetProperty("status").GetInt32());
    }

//#if (realtime)
    /// <summary>
    /// The hub answers a ping; or, without its Redis backplane (which subscribes each new connection), it closes new
    /// connections with an error within Realtime:RedisTimeout: a client sees the failure and retries, it is not left hanging.
    /// </summary>
    private static async Task TheHubAnswersAsync(Uri baseAddress, bool acceptsConnections)
    {
        using var patience = new CancellationTokenSource(Patience);
        try
        {
            await using var hub = await RawSignalRClient.ConnectAsync(baseAddress, patience.Token);
            await hub.SendAsync("""{"type":1,"invocationId":"1","target":"Echo","arguments":["outage"]}""", patience.Token);
            var completion = await hub.ReceiveAsync(3, patience.Token);
            Assert.Equal("outage", completion.GetProperty("result").GetProperty("message").GetString());
        }
        catch (WebSocketException refused) when (!acceptsConnections && !patience.IsCancellationRequested)
        {
            Assert.Contains("closed the connection", refused.Message);
        }
    }
//#endif

    private static string Value(JsonElement sample) => sample.GetProperty("value")[1].GetString()!;
}
