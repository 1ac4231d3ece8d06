using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Api.ScaleOut;
using Api.Tests.Infrastructure;
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
    private readonly List<string> _folders = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _folders.ForEach(TempFolder.Delete);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_session_and_an_antiforgery_token_cross_instances_and_restarts_with_the_keys_in_redis()
    {
        await using var redis = await RedisServer.StartAsync();
        // Each instance its own SQLite file: only Redis is shared, so only a key ring in Redis can make this pass.
        await SessionsCrossInstancesAsync(instance => new Dictionary<string, string?>
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(instance, "app.db")}",
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
        });

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await connection.GetDatabase().ListLengthAsync(KeyRing.RedisKey) >= 1, "the key ring is not in Redis");
    }

    [Fact]
    public async Task A_session_and_an_antiforgery_token_cross_instances_and_restarts_with_the_keys_in_postgres()
    {
        var postgres = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("keyring");
        await SessionsCrossInstancesAsync(_ => new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = postgres });
    }

    [Fact]
    public async Task With_a_certificate_the_keys_in_redis_are_encrypted_and_still_shared()
    {
        await using var redis = await RedisServer.StartAsync();
        var folder = Folder();
        var pfx = Path.Combine(folder, "keyring.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=backend-boilerplate key ring", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "secret"));
        }

        await SessionsCrossInstancesAsync(instance => new Dictionary<string, string?>
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(instance, "app.db")}",
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
        var folder = Folder();
        var (exitCode, output) = await AppProcess.RunUntilExitAsync(folder, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, "app.db")}",
            ["DataProtection:CertificatePath"] = Path.Combine(folder, "missing.pfx"),
        });

        Assert.Equal(1, exitCode);
        Assert.Contains("DataProtection:CertificatePath cannot be read", output, StringComparison.Ordinal);
    }

    private async Task SessionsCrossInstancesAsync(Func<string, Dictionary<string, string?>> settingsFor, bool restart = true)
    {
        var (folderA, folderB) = (Folder(), Folder());
        var a = await StartAsync(folderA, settingsFor(folderA));
        var b = await StartAsync(folderB, settingsFor(folderB));
        using var browser = new DashboardBrowser();
        try
        {
            using (var signedIn = await browser.SignInAsync(form: a.BaseAddress, post: b.BaseAddress, Key))
            {
                Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, $"sign-in with A's form posted to B answered {(int)signedIn.StatusCode}\n{a.Output}\n{b.Output}");
            }

            Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(a.BaseAddress));
            Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(b.BaseAddress));
            if (!restart)
            {
                return;
            }

            await Task.WhenAll(a.TerminateAsync(TimeSpan.FromSeconds(60)), b.TerminateAsync(TimeSpan.FromSeconds(60)));
            await a.DisposeAsync();
            await b.DisposeAsync();
            a = await StartAsync(folderA, settingsFor(folderA));
            b = await StartAsync(folderB, settingsFor(folderB));

            Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(a.BaseAddress));
            Assert.Equal(HttpStatusCode.OK, await browser.DashboardAsync(b.BaseAddress));
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    /// <summary>An instance with its own home folder: ASP.NET Core's default key ring lives under $HOME.</summary>
    private static Task<AppProcess> StartAsync(string folder, Dictionary<string, string?> settings)
    {
        settings["Queue:Dashboard:ApiKey"] = Key;
        settings["Email:PickupDirectory"] = Path.Combine(folder, "mail");
        settings["Shutdown:DrainSeconds"] = "0";
        var home = Path.Combine(folder, "home");
        Directory.CreateDirectory(home);
        return AppProcess.StartAsync(folder, settings, environment: new Dictionary<string, string?> { ["HOME"] = home });
    }

    private string Folder()
    {
        var folder = TempFolder.Create("api-tests-keyring");
        _folders.Add(folder);
        return folder;
    }
}
