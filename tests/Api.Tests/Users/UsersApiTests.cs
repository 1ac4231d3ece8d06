using System.Text;
using Api.Users;

namespace Api.Tests.Users;

/// <summary>The users API, run once on SQLite (the default) and once on a real PostgreSQL.</summary>
public abstract class UsersApiTests(ApiFactory app) : IDisposable
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Create_returns_201_with_location_and_the_user_can_be_read_back()
    {
        var response = await _client.PostAsJsonAsync("/api/users", new { name = "  Ada Lovelace ", email = "Ada@Example.COM" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadJsonAsync<UserResponse>();
        Assert.Equal($"/api/users/{created.Id}", response.Headers.Location?.ToString());
        Assert.Equal("Ada Lovelace", created.Name);
        Assert.Equal("ada@example.com", created.Email);

        var read = await _client.GetFromJsonAsync<UserResponse>(response.Headers.Location);
        Assert.Equal(created with { CreatedAt = read!.CreatedAt }, read);
        Assert.True(Math.Abs((read.CreatedAt - created.CreatedAt).TotalMilliseconds) < 1, "created_at survives the round trip");
    }

    [Fact]
    public async Task Duplicate_email_in_any_case_is_409_problem()
    {
        var email = $"dup-{Guid.NewGuid():N}@example.com";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsJsonAsync("/api/users", new { name = "First", email })).StatusCode);

        var response = await _client.PostAsJsonAsync("/api/users", new { name = "Second", email = email.ToUpperInvariant() });

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Conflict, "Email already registered");
    }

    [Fact]
    public async Task Concurrent_creates_with_one_email_make_one_user_and_conflicts()
    {
        var email = $"race-{Guid.NewGuid():N}@example.com";

        var responses = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(i => _client.PostAsJsonAsync("/api/users", new { name = $"Racer {i}", email })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created),
            r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
    }

    [Theory]
    [InlineData("{\"name\":\"\",\"email\":\"a@example.com\"}", "name")]
    [InlineData("{\"name\":\"Ada\",\"email\":\"not-an-email\"}", "email")]
    [InlineData("{\"email\":\"a@example.com\"}", "name")]
    [InlineData("{\"name\":\"Ada\"}", "email")]
    public async Task Invalid_input_is_400_validation_problem_naming_the_field_as_the_json_does(string body, string field)
    {
        var response = await _client.PostAsync("/api/users", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), $"errors names {field}: {problem}");
        Assert.StartsWith($"The {field} field", messages[0].GetString());
    }

    [Fact]
    public async Task Name_longer_than_the_limit_is_400()
    {
        var response = await _client.PostAsJsonAsync("/api/users", new { name = new string('x', User.NameMaxLength + 1), email = "long@example.com" });

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("{\"name\":")]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"name\":42,\"email\":true}")]
    public async Task Malformed_json_is_400_problem(string body)
    {
        var response = await _client.PostAsync("/api/users", new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest, "The request could not be read");
    }

    [Fact]
    public async Task Wrong_content_type_is_415_problem()
    {
        var response = await _client.PostAsync("/api/users", new StringContent("name=Ada", Encoding.UTF8, "text/plain"));

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Unknown_user_is_404_problem()
    {
        var response = await _client.GetAsync($"/api/users/{Guid.CreateVersion7()}");

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.NotFound, "User not found");
    }

    [Fact]
    public async Task An_id_that_is_not_a_guid_is_404_problem()
    {
        var response = await _client.GetAsync("/api/users/42");

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Pages_walk_every_user_once_in_creation_order()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 5; i++)
        {
            (await _client.PostAsJsonAsync("/api/users", new { name = $"Pager {i}", email = $"{prefix}-{i}@example.com" })).EnsureSuccessStatusCode();
        }

        var seen = new List<UserResponse>();
        var first = await _client.GetFromJsonAsync<PageResponse<UserResponse>>("/api/users?page=1&pageSize=2");
        for (var page = 1; page <= (first!.Total + 1) / 2; page++)
        {
            var result = await _client.GetFromJsonAsync<PageResponse<UserResponse>>($"/api/users?page={page}&pageSize=2");
            Assert.Equal(2, result!.PageSize);
            Assert.True(result.Items.Count <= 2);
            seen.AddRange(result.Items);
        }

        Assert.Equal(first.Total, seen.Count);
        Assert.Equal(seen.Count, seen.Select(u => u.Id).Distinct().Count());
        var mine = seen.Where(u => u.Email.StartsWith(prefix, StringComparison.Ordinal)).Select(u => u.Name).ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"Pager {i}"), mine);
    }

    [Theory]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=101", "pageSize")]
    [InlineData("page=0", "page")]
    [InlineData("page=-3", "page")]
    public async Task Out_of_range_paging_is_400_validation_problem_naming_the_parameter(string query, string parameter)
    {
        var response = await _client.GetAsync($"/api/users?{query}");

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), $"errors names {parameter}: {problem}");
    }

    [Fact]
    public async Task Unparsable_paging_is_400_problem()
    {
        var response = await _client.GetAsync("/api/users?page=abc");

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest, "The request could not be read");
    }

    [Fact]
    public async Task Root_describes_the_service()
    {
        var root = await _client.GetFromJsonAsync<Dictionary<string, string>>("/");

        Assert.Equal("backend-boilerplate", root!["name"]);
        Assert.Matches(@"^\d+\.\d+\.\d+", root["version"]);
    }

    [Fact]
    public async Task Health_live_and_ready_answer_200()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/health/ready")).StatusCode);
    }

    public void Dispose()
    {
        _client.Dispose();
        GC.SuppressFinalize(this);
    }
}

[Collection(InProcessApp.Name)]
public sealed class UsersApiOnSqliteTests(DefaultApp app) : UsersApiTests(app), IClassFixture<DefaultApp>;

[Collection(InProcessApp.Name)]
public sealed class UsersApiOnPostgresTests(PostgresApp app) : UsersApiTests(app), IClassFixture<PostgresApp>;
