using System.Text;
using Api.Observability;

namespace Api.Tests.Security;

/// <summary>Bodies, headers and HEAD, against the real server.</summary>
[Collection(InProcessApp.Name)]
public sealed class EdgeTests(EdgeTests.App app) : IClassFixture<EdgeTests.App>
{
    public const string MetricsKey = "edge-metrics-key";

    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Metrics:ApiKey"] = MetricsKey, ["Queue:Dashboard:ApiKey"] = MetricsKey });

    private readonly HttpClient _client = new() { BaseAddress = app.BaseAddress };

    [Fact]
    public async Task A_body_padded_past_the_limit_is_413_problem_and_nothing_is_stored()
    {
        var before = await TotalUsersAsync();
        // The issue's attack: a valid sign-up padded with a 28 MB unknown field.
        var padding = new string('x', 28 * 1024 * 1024);
        var body = $"{{\"name\":\"Padded\",\"email\":\"pad-{Guid.NewGuid():N}@example.com\",\"pad\":\"{padding}\"}}";

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        // With 100-continue the client waits for the verdict before sending: the 413 comes back on the headers alone
        // (without it, the server's answer races the upload it refuses to read).
        request.Headers.ExpectContinue = true;

        using var response = await _client.SendAsync(request);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await TotalUsersAsync());
    }

    [Fact]
    public async Task A_chunked_body_that_grows_past_the_limit_is_413_problem()
    {
        var body = $"{{\"name\":\"Chunked\",\"email\":\"ch-{Guid.NewGuid():N}@example.com\",\"pad\":\"{new string('x', 200_000)}\"}}";
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _client.SendAsync(request);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_body_within_the_limit_is_served()
    {
        var body = $"{{\"name\":\"Roomy\",\"email\":\"ok-{Guid.NewGuid():N}@example.com\",\"pad\":\"{new string('x', 30_000)}\"}}";
        using var response = await _client.PostAsync("/api/users", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/users")]
    [InlineData("/api/users/not-a-guid")]
    [InlineData("/no-such-path")]
    [InlineData("/health/live")]
    [InlineData("/hangfire/signin")]
    [InlineData("/hangfire")]
    [InlineData("/metrics")]
    public async Task Every_response_says_nosniff_denies_framing_and_names_no_server(string path)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.False(response.Headers.Contains("Server"), $"Server: {string.Join(",", response.Headers.Server)}");
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/users")]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/hangfire/signin")]
    [InlineData("/hangfire")]
    [InlineData("/metrics")]
    public async Task Head_works_wherever_get_does(string path)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "X-API-Key", MetricsKey } } };
        using var head = new HttpRequestMessage(HttpMethod.Head, path) { Headers = { { "X-API-Key", MetricsKey } } };

        using var getResponse = await _client.SendAsync(get);
        using var headResponse = await _client.SendAsync(head);

        Assert.Equal(HttpStatusCode.OK, getResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, headResponse.StatusCode);
        Assert.Empty(await headResponse.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_head_request_is_counted_as_head()
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, "/");
        (await _client.SendAsync(head)).Dispose();

        using var scrapeClient = new HttpClient { BaseAddress = _client.BaseAddress, DefaultRequestHeaders = { { "X-API-Key", MetricsKey } } };
        var scrape = await MetricsScrape.FetchAsync(scrapeClient);
        Assert.True(scrape.Sum(HttpMetrics.RequestsTotal, ("method", "HEAD"), ("route", "/"), ("status", "200")) >= 1);
    }

    [Theory]
    [InlineData("{\"name\":", "name")]
    [InlineData("{\"name\":42,\"email\":true}", "name")]
    [InlineData("[1,2,3]", "$")]
    public async Task A_malformed_body_is_described_without_naming_internal_types(string body, string pointsAt)
    {
        using var response = await _client.PostAsync("/api/users", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("CreateUserRequest", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("parameter", detail, StringComparison.Ordinal);
        Assert.Contains(pointsAt, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unparsable_query_value_is_described_by_its_name()
    {
        using var response = await _client.GetAsync("/api/users?page=abc");

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("'abc' is not a valid value for 'page'.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_problem_the_client_refuses_to_accept_is_still_its_4xx_not_a_500()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users")
        {
            Content = new StringContent(new string(' ', 70_000), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_request_kestrel_cannot_parse_is_its_empty_400_and_closes_the_connection()
    {
        // A NUL in the path (%00) is refused by the HTTP server before any middleware runs: no problem document can be
        // written and no metric counts it (README, Endpoints). The app itself never sees such a path.
        using var response = await _client.GetAsync("/api/users/%00");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.True(response.Headers.ConnectionClose, "Kestrel closes a connection it could not parse");
    }

    private async Task<int> TotalUsersAsync() =>
        (await _client.GetFromJsonAsync<Api.Users.PageResponse<Api.Users.UserResponse>>("/api/users?pageSize=1"))!.Total;
}
