using Api.Tests.Security;

namespace Api.Tests.Queue;

/// <summary>The attacks of issue 10 on the job dashboard, against the real server and through a real proxy.</summary>
[Collection(InProcessApp.Name)]
public sealed class DashboardSecurityTests(DashboardSecurityTests.App app) : IClassFixture<DashboardSecurityTests.App>, IAsyncLifetime
{
    public const string Key = "dashboard-test-key";

    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Queue:Dashboard:ApiKey"] = Key });

    private readonly HttpClient _client = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = app.BaseAddress };
    private LoopbackProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await LoopbackProxy.StartAsync(app.BaseAddress);

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _proxy.DisposeAsync();
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (method == HttpMethod.Post)
        {
            request.Content = new FormUrlEncodedContent([new("jobs[]", "1")]);
        }

        return request;
    }

    [Theory]
    [InlineData("GET", "/hangfire")]
    [InlineData("GET", "/hangfire/jobs/failed")]
    [InlineData("POST", "/hangfire/jobs/failed/delete")]
    [InlineData("POST", "/hangfire/jobs/scheduled/delete")]
    public async Task Without_the_key_the_dashboard_is_closed_even_to_a_local_address_or_a_forged_header(string method, string path)
    {
        using var local = await _client.SendAsync(Request(new HttpMethod(method), path));
        await ProblemAssert.AssertProblemAsync(local, HttpStatusCode.Unauthorized);

        using var forged = await _client.SendAsync(Request(new HttpMethod(method), path, ("X-Forwarded-For", "1.2.3.4"), ("Host", "localhost")));
        await ProblemAssert.AssertProblemAsync(forged, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("GET", "/hangfire")]
    [InlineData("POST", "/hangfire/jobs/failed/delete")]
    public async Task Through_a_reverse_proxy_on_the_same_host_the_dashboard_is_closed(string method, string path)
    {
        using var client = new HttpClient { BaseAddress = _proxy.Address };
        using var response = await client.SendAsync(Request(new HttpMethod(method), path));

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_browser_without_the_key_is_sent_to_the_sign_in_form()
    {
        using var response = await _client.SendAsync(Request(HttpMethod.Get, "/hangfire/jobs/failed", ("Accept", "text/html")));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/hangfire/signin", response.Headers.Location?.AbsolutePath);
    }

    [Theory]
    [InlineData("Authorization", "Bearer " + Key)]
    [InlineData("X-API-Key", Key)]
    public async Task With_the_key_the_dashboard_opens_and_cannot_be_framed(string header, string value)
    {
        using var response = await _client.SendAsync(Request(HttpMethod.Get, "/hangfire", (header, value)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hangfire", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cross_site_post_is_refused_even_with_the_key()
    {
        // What a page on evil.example could make a browser send: no antiforgery token (it cannot read one).
        using var response = await _client.SendAsync(Request(HttpMethod.Post, "/hangfire/jobs/scheduled/delete",
            ("X-API-Key", Key), ("Origin", "https://evil.example")));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("/hangfire/stats")]
    [InlineData("/hangfire/jobs/details/no-such-job")]
    [InlineData("/hangfire/jobs/enqueued/fetched/no-such-queue")]
    [InlineData("/hangfire/jobs/enqueued/no-such-queue")]
    [InlineData("/hangfire/recurring")]
    [InlineData("/hangfire/servers")]
    [InlineData("/hangfire/retries")]
    [InlineData("/hangfire/js")]
    [InlineData("/hangfire/css")]
    [InlineData("/hangfire/no/such/page")]
    [InlineData("/hangfire/jobs/failed?from=-5&count=abc")]
    public async Task No_dashboard_url_answers_500(string path)
    {
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete })
        {
            using var response = await _client.SendAsync(Request(method, path, ("X-API-Key", Key)));
            Assert.True((int)response.StatusCode < 500, $"{method} {path} answered {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task Sign_in_with_a_wrong_key_is_refused_and_never_redirects_off_site()
    {
        var (cookie, token) = await SignInFormAsync();
        using var wrong = await PostSignInAsync(cookie, token, "not-the-key", "/hangfire");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.False(wrong.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("dashboard=", StringComparison.Ordinal)));

        using var right = await PostSignInAsync(cookie, token, Key, "//evil.example/x");
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal("/hangfire", right.Headers.Location?.OriginalString);
        var session = right.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("dashboard=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sign_in_without_the_forms_antiforgery_token_is_refused()
    {
        var (cookie, _) = await SignInFormAsync();
        using var response = await PostSignInAsync(cookie, token: null, Key, "/hangfire");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie") && response.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("dashboard=", StringComparison.Ordinal)));
    }

    private async Task<(string Cookie, string Token)> SignInFormAsync()
    {
        using var form = await _client.GetAsync("/hangfire/signin");
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var html = await form.Content.ReadAsStringAsync();
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var cookie = form.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        return (cookie, token);
    }

    private Task<HttpResponseMessage> PostSignInAsync(string cookie, string? token, string key, string returnUrl)
    {
        var fields = new List<KeyValuePair<string, string>> { new("key", key), new("returnUrl", returnUrl) };
        if (token is not null)
        {
            fields.Add(new("__RequestVerificationToken", token));
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/hangfire/signin") { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Add("Cookie", cookie);
        return _client.SendAsync(request);
    }
}
