using System.Net.Http.Json;
using Api.Data;
using Api.Tests.Infrastructure;
using Api.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Users;

/// <summary>The list's <c>total</c> is reused for <c>Users:TotalMaxAge</c>, and recounted after this instance's own sign-ups.</summary>
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

        (await client.PostAsJsonAsync("/api/users", new { name = "Here", email = "here@example.com" })).EnsureSuccessStatusCode();
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

    private static async Task<int> TotalAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<PageResponse<UserResponse>>("/api/users?pageSize=1"))!.Total;

    // Straight into the database, past the API: as a second instance of the service would.
    private static async Task InsertAsAnotherInstanceWouldAsync(ApiFactory app, string email)
    {
        using var scope = app.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        db.Users.Add(new User { Id = UserIds.Next(), Name = "Elsewhere", Email = email, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
    }
}
