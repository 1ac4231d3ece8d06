using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Api.ScaleOut;
using StackExchange.Redis;

namespace Api.Tests.ScaleOut;

/// <summary>
/// Two instances as two processes, each with a home folder of its own (as two containers have), share one key ring:
/// a sign-in form fetched from one posts to the other, the session it makes opens the dashboard on both, and both
/// still accept it after both restarted. Once through Redis, once through PostgreSQL.
/// </summary>
public sealed class KeyRingTests : IAsyncLifetime
{
    private const string Key = "fleet-dashboard-key";
    private readonly string _folder = TempFolder.Create("api-tests-keyring");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        TempFolder.Delete(_folder);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_session_and_an_antiforgery_token_cross_instances_and_restarts_with_the_keys_in_redis()
    {
        await using var redis = await RedisServer.StartAsync();
        // Each instance its own SQLite file (TempApp's): only Redis is shared, so only a key ring in Redis can make this pass.
        await SessionsCrossInstancesAsync(new Dictionary<string, string?> { ["ConnectionStrings:Redis"] = redis.ConnectionString });

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await connection.GetDatabase().ListLengthAsync(KeyRing.RedisKey) >= 1, "the key ring is not in Redis");
    }

    [Fact]
    public async Task A_session_and_an_antiforgery_token_cross_instances_and_restarts_with_the_keys_in_postgres()
    {
        var postgres = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("keyring");
        await SessionsCrossInstancesAsync(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = postgres });
    }

    [Fact]
    public async Task With_a_certificate_the_keys_in_redis_are_encrypted_and_still_shared()
    {
        await using var redis = await RedisServer.StartAsync();
        var pfx = Path.Combine(_folder, "keyring.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=backend-boilerplate key ring", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "secret"));
        }

        await SessionsCrossInstancesAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["DataProtection:CertificatePath"] = pfx,
            ["DataProtection:CertificatePassword"] = "secret",
        }, restart: false);

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var stored = (await connection.GetDatabase().ListRangeAsync(KeyRing.RedisKey)).Select(v => v.ToString()).ToList();
        Assert.NotEmpty(stored);
        Assert.All(stored, xml =>
        {
            Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_certificate_that_cannot_be_read_stops_start_up_naming_the_key()
    {
        var (exitCode, output) = await TempApp.RunUntilExitAsync(new Dictionary<string, string?>
        {
            ["DataProtection:CertificatePath"] = Path.Combine(_folder, "missing.pfx"),
        });

        Assert.Equal(1, exitCode);
        Assert.Contains("DataProtection:CertificatePath cannot be read", output, StringComparison.Ordinal);
    }

    /// <summary>Two instances, each with its own home folder: ASP.NET Core's default key ring lives under $HOME.</summary>
    private static async Task SessionsCrossInstancesAsync(Dictionary<string, string?> settings, bool restart = true)
    {
        settings["Queue:Dashboard:ApiKey"] = Key;
        settings["Shutdown:DrainSeconds"] = "0";
        await using var fleet = await TempApp.StartFleetAsync(2, settings, "keyring");
        var (a, b) = (fleet[0], fleet[1]);
        using var browser = new DashboardBrowser();
        using (var signedIn = await browser.SignInAsync(form: a.BaseAddress, post: b.BaseAddress, Key))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, $"sign-in with A's form posted to B answered {(int)signedIn.StatusCode}\n{fleet.Output}");
        }

        Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(a.BaseAddress));
        Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(b.BaseAddress));
        if (!restart)
        {
            return;
        }

        await Task.WhenAll(a.TerminateAsync(TimeSpan.FromSeconds(60)), b.TerminateAsync(TimeSpan.FromSeconds(60)));
        await a.RestartAsync();
        await b.RestartAsync();

        Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(a.BaseAddress));
        Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(b.BaseAddress));
    }
}
