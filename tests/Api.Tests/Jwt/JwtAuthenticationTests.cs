using System.Net.Http.Headers;
//#if (realtime)
using System.Net.WebSockets;
//#endif
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Api.Tests.Monitoring;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Api.Tests.Jwt;

/// <summary>
/// docs/RECIPES.md's "Add authentication" as documented: the app started with the issuer and audience the recipe
/// shows and a key of the size it asks for. The users list and the hub want a token signed by that key; sign-up, the
/// metrics key and the dashboard key work as before, and neither key nor token opens the other's door.
/// </summary>
public sealed partial class JwtAuthenticationTests(JwtAuthenticationTests.App app) : IClassFixture<JwtAuthenticationTests.App>
{
    private const string MetricsKey = "metrics-key-for-the-jwt-tests";
    private const string DashboardKey = "dashboard-key-for-the-jwt-tests";
    private readonly string _signingKey = app.SigningKey;
    private readonly Dictionary<string, string> _documented = app.Documented;
    private readonly HttpClient _client = app.Client;

    /// <summary>One app for the class: each start-up costs seconds on a busy machine.</summary>
    public sealed class App : IAsyncLifetime
    {
        private TempApp _app = null!;

        public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        public Dictionary<string, string> Documented { get; } = DocumentedSettings();
        public HttpClient Client { get; private set; } = null!;
        public Uri BaseAddress => _app.BaseAddress;

        public async Task InitializeAsync()
        {
            Assert.Contains("SigningKey", Documented.Keys);
            _app = await TempApp.StartAsync(new Dictionary<string, string?>
            {
                ["Authentication:Jwt:Issuer"] = Documented["Issuer"],
                ["Authentication:Jwt:Audience"] = Documented["Audience"],
                ["Authentication:Jwt:SigningKey"] = SigningKey,
                ["Metrics:ApiKey"] = MetricsKey,
                ["Queue:Dashboard:ApiKey"] = DashboardKey,
            }, "jwt");
            Client = new HttpClient { BaseAddress = _app.BaseAddress };
        }

        public async Task DisposeAsync()
        {
            Client.Dispose();
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_users_list_wants_a_token_signed_by_the_configured_key_and_sign_up_stays_open()
    {
        using var anonymous = await _client.GetAsync("/api/users");
        await ProblemAssert.AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);

        using var signUp = await _client.PostAsJsonAsync("/api/users", new { name = "Ada", email = "ada@example.com" });
        Assert.Equal(HttpStatusCode.Created, signUp.StatusCode);

        using var list = await SendAsync("/api/users", Token(_signingKey));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using var one = await SendAsync(signUp.Headers.Location!.OriginalString, Token(_signingKey));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);

        using var otherKey = await SendAsync("/api/users", Token(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
        await ProblemAssert.AssertProblemAsync(otherKey, HttpStatusCode.Unauthorized);
        using var otherAudience = await SendAsync("/api/users", Token(_signingKey, audience: "another-service"));
        await ProblemAssert.AssertProblemAsync(otherAudience, HttpStatusCode.Unauthorized);
        using var expired = await SendAsync("/api/users", Token(_signingKey, expires: DateTime.UtcNow.AddMinutes(-5)));
        await ProblemAssert.AssertProblemAsync(expired, HttpStatusCode.Unauthorized);
    }

//#if (realtime)
    [Fact]
    public async Task The_hub_refuses_a_websocket_without_a_token_and_takes_one_as_access_token()
    {
        var hub = new UriBuilder(app.BaseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
        using var refused = new ClientWebSocket();
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(hub, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);

        using var accepted = new ClientWebSocket();
        await accepted.ConnectAsync(new Uri($"{hub}?access_token={Token(_signingKey)}"), CancellationToken.None);
        Assert.Equal(WebSocketState.Open, accepted.State);
        await accepted.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }
//#endif

    [Fact]
    public async Task The_metrics_and_dashboard_keys_open_their_own_doors_and_a_token_opens_neither()
    {
        using var scrape = await SendAsync("/metrics", MetricsKey);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        using var dashboard = await SendAsync("/hangfire", DashboardKey);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);

        using var scrapeWithToken = await SendAsync("/metrics", Token(_signingKey));
        Assert.Equal(HttpStatusCode.Unauthorized, scrapeWithToken.StatusCode);
        using var dashboardWithToken = await SendAsync("/hangfire", Token(_signingKey));
        await ProblemAssert.AssertProblemAsync(dashboardWithToken, HttpStatusCode.Unauthorized);
        using var usersWithKey = await SendAsync("/api/users", MetricsKey);
        await ProblemAssert.AssertProblemAsync(usersWithKey, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("Authentication:Jwt:SigningKey", "too-short", "Authentication:Jwt:SigningKey must be at least 32 bytes (HS256), got 9")]
    [InlineData("Authentication:Jwt:Issuer", "", "Authentication:Jwt:Issuer must be set when Authentication:Jwt:SigningKey is")]
    [InlineData("Authentication:Jwt:SigningKey", "", "Authentication:Jwt:SigningKey must be set as well, or JWT authentication stays off")]
    public async Task A_bad_jwt_setting_stops_start_up_naming_the_key(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Authentication:Jwt:Issuer"] = _documented["Issuer"],
            ["Authentication:Jwt:Audience"] = _documented["Audience"],
            ["Authentication:Jwt:SigningKey"] = _signingKey,
            [key] = value,
        };

        var (exitCode, output) = await TempApp.RunUntilExitAsync(settings);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, output, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, string bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await _client.SendAsync(request);
    }

    private string Token(string key, string? audience = null, DateTime? expires = null) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = _documented["Issuer"],
        Audience = audience ?? _documented["Audience"],
        Subject = new ClaimsIdentity([new Claim("sub", "ada")]),
        NotBefore = (expires ?? DateTime.UtcNow.AddMinutes(5)).AddMinutes(-10),
        Expires = expires ?? DateTime.UtcNow.AddMinutes(5),
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
    });

    /// <summary>The Authentication__Jwt__* variables of the recipe's block, by their last name.</summary>
    private static Dictionary<string, string> DocumentedSettings()
    {
        var doc = File.ReadAllText(MonitoringConfig.RepositoryFile("docs/RECIPES.md"));
        var section = doc[doc.IndexOf("## Add authentication", StringComparison.Ordinal)..];
        return Setting().Matches(section).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim('"'));
    }

    [GeneratedRegex(@"^export Authentication__Jwt__(\w+)=(\S+)", RegexOptions.Multiline)]
    private static partial Regex Setting();
}
