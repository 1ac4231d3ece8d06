using Api.Data;
using Api.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Users;

/// <summary>
/// The list's <c>total</c> is reused for <c>Users:TotalMaxAge</c>, and recounted after this instance's own sign-ups; above
/// <c>Users:ExactTotalUpTo</c> it is the database's estimate.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class UserTotalTests
{
    [Fact]
    public async Task The_total_is_reused_within_its_max_age_and_recounted_after_a_sign_up_here()
    {
        await using var app = new ApiFactory(new Dictionary<string, string?> { ["Users:TotalMaxAge"] = "01:00:00" });
        using var client = app.CreateClient();
        var before = await TotalAsync(client);

        await InsertAsAnotherInstanceWouldAsync(app, "elsewhere@example.com");
        Assert.Equal(before, await TotalAsync(client));

        await client.CreateUserAsync("Here", "here@example.com");
        Assert.Equal(before + 2, await TotalAsync(client));
    }

    [Fact]
    public async Task A_zero_max_age_counts_on_every_request()
    {
        await using var app = new ApiFactory(new Dictionary<string, string?> { ["Users:TotalMaxAge"] = "00:00:00" });
        using var client = app.CreateClient();
        var before = await TotalAsync(client);

        await InsertAsAnotherInstanceWouldAsync(app, "elsewhere@example.com");
        Assert.Equal(before + 1, await TotalAsync(client));
    }

    [Fact]
    public async Task Above_the_exact_limit_the_total_on_sqlite_is_the_largest_rowid_marked_as_an_estimate()
    {
        await using var app = new ApiFactory(new Dictionary<string, string?> { ["Users:TotalMaxAge"] = "00:00:00", ["Users:ExactTotalUpTo"] = "2" });
        using var client = app.CreateClient();
        Assert.Equal((0, false), await TotalAndEstimateAsync(client));
        await client.CreateUserAsync("One");
        await client.CreateUserAsync("Two");
        Assert.Equal((2, false), await TotalAndEstimateAsync(client));

        await client.CreateUserAsync("Three");

        Assert.Equal((3, true), await TotalAndEstimateAsync(client));
    }

    [Fact]
    public async Task Above_the_exact_limit_the_total_on_postgres_is_the_planner_s_estimate_not_a_count()
    {
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("total");
        await using var app = new ApiFactory(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString, ["Users:TotalMaxAge"] = "00:00:00", ["Users:ExactTotalUpTo"] = "2",
        });
        using var client = app.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            await client.CreateUserAsync($"User {i}");
        }

        // Never analysed: PostgreSQL has no estimate yet (reltuples -1), so the users are counted.
        Assert.Equal((3, false), await TotalAndEstimateAsync(client));
        await AnalyzeAsync(app);
        Assert.Equal((3, true), await TotalAndEstimateAsync(client));

        // Two more fit on the same page: the estimate (rows per page × pages) does not see them until the next ANALYZE.
        await InsertAsAnotherInstanceWouldAsync(app, "elsewhere-1@example.com");
        await InsertAsAnotherInstanceWouldAsync(app, "elsewhere-2@example.com");
        Assert.Equal((3, true), await TotalAndEstimateAsync(client));
        await AnalyzeAsync(app);
        Assert.Equal((5, true), await TotalAndEstimateAsync(client));
    }

    private static async Task<(int, bool)> TotalAndEstimateAsync(HttpClient client)
    {
        var page = (await client.GetFromJsonAsync<PageResponse<UserResponse>>("/api/users?pageSize=1"))!;
        return (page.Total, page.TotalIsEstimate);
    }

    private static async Task AnalyzeAsync(ApiFactory app)
    {
        using var scope = app.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<AppDbContext>().Database.ExecuteSqlRawAsync("ANALYZE users");
    }

    private static async Task<int> TotalAsync(HttpClient client) => (await TotalAndEstimateAsync(client)).Item1;

    // Straight into the database, past the API: as a second instance of the service would.
    private static async Task InsertAsAnotherInstanceWouldAsync(ApiFactory app, string email)
    {
        using var scope = app.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        db.Users.Add(new User { Id = UserIds.Next(), Name = "Elsewhere", Email = email, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
    }
}
