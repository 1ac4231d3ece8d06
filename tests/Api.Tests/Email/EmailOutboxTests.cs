using Api.Data;
using Api.Email;
using Api.Queue;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Api.Tests.Email;

/// <summary>
/// Two instances sharing one PostgreSQL database and one Redis both dispatch the same outbox, polling it every 50 ms
/// so that they race for rows all the time: each row is claimed by one of them, so each email is sent once. An instance
/// with <c>Email:Outbox:Dispatch=false</c> leaves its rows to one that dispatches.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class EmailOutboxTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Two_instances_dispatching_one_outbox_send_every_welcome_email_exactly_once()
    {
        const int users = 60;
        var postgres = await PostgresServer.SharedAsync();
        var database = await postgres.CreateDatabaseAsync("outbox");
        await using var redis = await RedisServer.StartAsync(durable: false);
        await using var smtp = await SmtpSink.StartAsync();
        var addresses = Enumerable.Range(1, users).Select(i => $"outbox-{i}@example.com").ToArray();
        await using var fleet = await TempApp.StartFleetAsync(2, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Email:Smtp:Host"] = "127.0.0.1",
            ["Email:Smtp:Port"] = smtp.Port.ToString(),
            ["Email:Outbox:PollingMilliseconds"] = "50",
            ["Email:Outbox:BatchSize"] = "5",
        }, "outbox");
        var (a, b) = (fleet[0], fleet[1]);
        await Task.WhenAll(a.WaitUntilReadyAsync(), b.WaitUntilReadyAsync());
        using var toA = new HttpClient { BaseAddress = a.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        using var toB = new HttpClient { BaseAddress = b.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        await Task.WhenAll(
            toA.CreateUsersAsync(addresses.Where((_, i) => i % 2 == 0), () => a.Output),
            toB.CreateUsersAsync(addresses.Where((_, i) => i % 2 == 1), () => b.Output));

        await Eventually.HoldsAsync(() => addresses.All(address => smtp.CountTo(address) >= 1), Timeout,
            "every welcome email", () => $"{smtp.Received.Count} received\n{fleet.Output}");
        // Both instances' outbox gauges drain to 0 and their workers' completions add up to one per user.
        await Eventually.HoldsAsync(async () =>
            await toA.QueueMetricAsync(QueueMetrics.OutboxPending) == 0 && await toB.QueueMetricAsync(QueueMetrics.OutboxPending) == 0 &&
            await toA.QueueMetricAsync(QueueMetrics.JobsCompleted) + await toB.QueueMetricAsync(QueueMetrics.JobsCompleted) >= users,
            Timeout, "the outbox to drain and every job to complete");
        Assert.All(addresses, address => Assert.Equal(1, smtp.CountTo(address)));
        Assert.Equal(users, await toA.QueueMetricAsync(QueueMetrics.JobsCompleted) + await toB.QueueMetricAsync(QueueMetrics.JobsCompleted));
    }

    [Fact]
    public async Task A_web_instance_that_does_not_dispatch_only_writes_the_outbox_and_a_worker_sends_each_email_once()
    {
        const int users = 10;
        var postgres = await PostgresServer.SharedAsync();
        var database = await postgres.CreateDatabaseAsync("outbox_roles");
        await using var smtp = await SmtpSink.StartAsync();
        var addresses = Enumerable.Range(1, users).Select(i => $"role-{i}@example.com").ToArray();
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database,
            ["Email:Smtp:Host"] = "127.0.0.1",
            ["Email:Smtp:Port"] = smtp.Port.ToString(),
            ["Email:Outbox:PollingMilliseconds"] = "100",
        };
        await using var web = await TempApp.StartAsync(new Dictionary<string, string?>(settings) { ["Email:Outbox:Dispatch"] = "false" }, "outbox-web");
        await web.WaitUntilReadyAsync();
        using var toWeb = new HttpClient { BaseAddress = web.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        await toWeb.CreateUsersAsync(addresses, () => web.Output);
        // Ten of its polls, each woken by a sign-up besides: a web instance that dispatched would have sent by now.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.True(smtp.Received.Count == 0, $"the web instance sent {smtp.Received.Count} mails\n{web.Output}");
        // It still watches the outbox: while no instance dispatches, its gauges show the emails waiting (and alert).
        await Eventually.HoldsAsync(async () => await toWeb.QueueMetricAsync(QueueMetrics.OutboxPending) == users, Timeout,
            "the web instance's outbox gauge at 10", () => web.Output);

        await using var worker = await TempApp.StartAsync(settings, "outbox-worker");
        await Eventually.HoldsAsync(() => addresses.All(address => smtp.CountTo(address) >= 1), Timeout,
            "every welcome email, from the worker", () => $"{smtp.Received.Count} received\n{worker.Output}");
        using var toWorker = new HttpClient { BaseAddress = worker.BaseAddress };
        await Eventually.HoldsAsync(async () => await toWorker.QueueMetricAsync(QueueMetrics.OutboxPending) == 0, Timeout, "the worker's outbox gauge at 0");
        Assert.All(addresses, address => Assert.Equal(1, smtp.CountTo(address)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Only_an_instance_that_dispatches_runs_email_jobs(bool dispatch)
    {
        // The retries of failed sends are email jobs: an instance that does not dispatch must hold no SMTP connection for
        // them either, while its workers still take every other queue's jobs.
        await using var app = new ApiFactory(new Dictionary<string, string?> { ["Email:Outbox:Dispatch"] = dispatch.ToString() });
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        string[] queues = [];
        await Eventually.HoldsAsync(() => (queues = monitoring.Servers().SelectMany(s => s.Queues).ToArray()).Length > 0,
            TimeSpan.FromSeconds(30), "the Hangfire server to report its queues");

        Assert.Contains(JobQueues.Default, queues);
        Assert.Equal(dispatch, queues.Contains(EmailExtensions.Queue));
    }

    [Fact]
    public async Task Dispatchers_racing_for_the_same_rows_send_each_row_once()
    {
        // Eight dispatchers on one PostgreSQL database, all starting at the same first rows: without a claim that
        // re-checks each row, several would send the same email.
        const int rows = 400;
        var postgres = await PostgresServer.SharedAsync();
        var database = await postgres.CreateDatabaseAsync("outbox_race");
        await using var smtp = await SmtpSink.StartAsync();
        // Hangfire logs through a process-wide provider, which an earlier test host may have left pointing at its
        // disposed logger factory.
        GlobalConfiguration.Configuration.UseNoOpLogProvider();
        var storage = new InMemoryStorage();
        var email = Options.Create(new EmailOptions { Smtp = { Host = "127.0.0.1", Port = smtp.Port, PoolSize = 2 } });
        var queue = Options.Create(new QueueOptions());
        var services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddSingleton<JobStorage>(storage)
            .AddDbContext<AppDbContext>(options => options.UseNpgsql(database))
            .AddSingleton<JobQueues>()
            .AddJobQueue(EmailExtensions.Queue)
            .AddSingleton(TimeProvider.System)
            .AddSingleton<QueueMetrics>()
            .BuildServiceProvider();
        var addresses = Enumerable.Range(1, rows).Select(i => $"race-{i}@example.com").ToArray();
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await db.Database.MigrateAsync();
            db.Set<PendingWelcomeEmail>().AddRange(addresses.Select(address =>
                new PendingWelcomeEmail { UserId = Guid.CreateVersion7(), Name = address.Split('@')[0], Email = address }));
            await db.SaveChangesAsync();
        }

        var retries = new JobRetries(new BackgroundJobClient(storage), queue);
        var dispatchers = Enumerable.Range(0, 8).Select(_ =>
        {
            var sender = new EmailSender(email, queue, new HostingEnvironment());
            return new WelcomeEmailDispatcher(services.GetRequiredService<IServiceScopeFactory>(),
                new WelcomeEmailJob(sender, NullLogger<WelcomeEmailJob>.Instance), sender, retries, services.GetRequiredService<QueueMetrics>(),
                email, TimeProvider.System, NullLogger<WelcomeEmailDispatcher>.Instance);
        }).ToList();
        var claimed = await Task.WhenAll(dispatchers.Select(dispatcher => Task.Run(async () =>
        {
            // A dispatcher that loses a race claims fewer rows than it saw; it goes on until the outbox is empty (a row
            // goes once its mail is sent, at the dispatcher's next call).
            var total = 0;
            while (await OutboxCountAsync(services) > 0)
            {
                total += await dispatcher.DispatchBatchAsync(batchSize: 20, CancellationToken.None);
            }

            await dispatcher.DrainAsync();
            return total;
        })));

        Assert.Equal(rows, claimed.Sum());
        Assert.All(addresses, address => Assert.Equal(1, smtp.CountTo(address)));
        Assert.Equal(0, storage.GetMonitoringApi().EnqueuedCount(EmailExtensions.Queue) + storage.GetMonitoringApi().ScheduledCount());
        Assert.Equal(0, await OutboxCountAsync(services));
        await services.DisposeAsync();
    }

    private static async Task<int> OutboxCountAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AppDbContext>().Set<PendingWelcomeEmail>().CountAsync();
    }
}
