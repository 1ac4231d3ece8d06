namespace Api.Tests.Users;

/// <summary>
/// A sign-up with a taken address is found out by the unique index, not by a look-up first: it must still be a 409
/// and nothing the on-call reads as a failure (no log line at Error), on both databases.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class TakenAddressTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_taken_address_is_409_and_logs_no_error_whether_taken_before_or_in_a_race(string database)
    {
        var settings = new Dictionary<string, string?>();
        if (database == "postgres")
        {
            settings["ConnectionStrings:Postgres"] = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("taken");
        }

        await using var app = new LoggingApiFactory(settings);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        var email = $"taken-{Guid.NewGuid():N}@example.com";
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/users", new { name = "First", email })).StatusCode);

        var again = await client.PostAsJsonAsync("/api/users", new { name = "Again", email = email.ToUpperInvariant() });
        var race = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.PostAsJsonAsync("/api/users", new { name = $"Racer {i}", email })));

        await ProblemAssert.AssertProblemAsync(again, HttpStatusCode.Conflict, "Email already registered");
        Assert.All(race, response => Assert.Equal(HttpStatusCode.Conflict, response.StatusCode));
        var errors = app.Logs.Where(line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, $"a taken address logged errors:\n{string.Join("\n", errors)}");
    }
}
