using Api.Email;
using Api.Queue;

namespace Api.Tests.Email;

/// <summary>The app with in-memory job storage, sending to a real SMTP sink on loopback, with short retry delays; one per test class.</summary>
public sealed class EmailQueueFixture : IAsyncLifetime
{
    public const int Workers = 2;
    public const string DashboardKey = "dashboard-key";

    public SmtpSink Smtp { get; private set; } = null!;
    public LoggingApiFactory App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Smtp = await SmtpSink.StartAsync();
        App = new LoggingApiFactory(new Dictionary<string, string?>
        {
            ["Email:Smtp:Host"] = "127.0.0.1",
            ["Email:Smtp:Port"] = Smtp.Port.ToString(),
            ["Email:Smtp:TimeoutSeconds"] = "10",
            ["Queue:Workers"] = Workers.ToString(),
            ["Queue:Retry:Attempts"] = "20",
            ["Queue:Retry:DelaySeconds"] = "1",
            ["Queue:SchedulePollingSeconds"] = "1",
            ["Queue:Dashboard:ApiKey"] = DashboardKey,
            ["Queue:MetricsRefreshSeconds"] = "1",
        });
        Client = new HttpClient { BaseAddress = App.BaseAddress };

        // One welcome email through the whole path before the test: the tests start from a warm pipeline (compiled code,
        // a pooled SMTP connection, every queue instrument exported once), never from what an earlier test left behind.
        var warmUp = $"warm-up-{Guid.NewGuid():N}@example.com";
        await Client.CreateUsersAsync([warmUp]);
        var completed = double.NaN;
        await Eventually.HoldsAsync(async () => (completed = await Client.QueueMetricAsync(QueueMetrics.JobsCompleted)) == 1 && Smtp.CountTo(warmUp) == 1,
            TimeSpan.FromSeconds(120), "the warm-up email",
            () => $"{QueueMetrics.JobsCompleted} {completed}, {Smtp.CountTo(warmUp)} of {Smtp.Received.Count} mails to {warmUp}, {Smtp.Sessions} SMTP sessions; the app's log:\n{string.Join("\n", App.Logs)}");
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        await Smtp.DisposeAsync();
    }
}

internal static class EmailTestExtensions
{
    public static async Task CreateUsersAsync(this HttpClient client, IEnumerable<string> emails, Func<string>? diagnostics = null)
    {
        var responses = await Task.WhenAll(emails.Select(email => client.PostUserAsync("User " + email.Split('@')[0], email)));
        foreach (var response in responses)
        {
            Assert.True(response.StatusCode == HttpStatusCode.Created,
                $"POST /api/users answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{diagnostics?.Invoke()}");
        }
    }

    public static async Task<double> QueueMetricAsync(this HttpClient client, string name, string queue = EmailExtensions.Queue) =>
        (await MetricsScrape.FetchAsync(client)).Sum(name, ("queue", queue));

    public static int CountTo(this SmtpSink smtp, string address) =>
        smtp.Received.Count(mail => string.Equals(mail.To, address, StringComparison.OrdinalIgnoreCase));
}
