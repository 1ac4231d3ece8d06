namespace Api.Tests.ScaleOut;

/// <summary>
/// Every fresh deploy starts on an empty database once: its first migration must not log an error (EF Core's probe of
/// a migrations history table that does not exist yet logs one by default), or log-based alerting fires on each.
/// </summary>
public sealed class StartUpTests
{
    [Fact]
    public async Task The_first_migration_of_an_empty_postgres_database_logs_no_failure()
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("fresh");
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database,
            // As the shipped appsettings.json has it (a readiness probe's failure is its answer, not an error to log).
            ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
        }, name: "fresh", ownHome: true);
        using var http = new HttpClient { BaseAddress = app.BaseAddress };
        await Eventually.HoldsAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "ready", () => app.Output);

        Assert.Contains("Applying migration", app.Output, StringComparison.Ordinal);
        Assert.False(app.Output.Contains("fail:", StringComparison.Ordinal), app.Output);
    }
}
