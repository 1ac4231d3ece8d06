using Api.Users;

namespace Api.Tests.Infrastructure;

/// <summary>The one way a test signs up a user: POST /api/users, with a fresh address unless the test names one.</summary>
public static class UserSignUps
{
    public static Task<HttpResponseMessage> PostUserAsync(this HttpClient client, string name, string? email = null) =>
        client.PostAsJsonAsync("/api/users", new { name, email = email ?? $"user-{Guid.NewGuid():N}@example.com" });

    /// <summary>Signs up a user and expects 201 Created.</summary>
    public static async Task<UserResponse> CreateUserAsync(this HttpClient client, string name, string? email = null)
    {
        using var response = await client.PostUserAsync(name, email);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /api/users answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync<UserResponse>();
    }
}
