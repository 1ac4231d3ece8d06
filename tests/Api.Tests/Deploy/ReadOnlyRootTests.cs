namespace Api.Tests.Deploy;

/// <summary>
/// The app as the Deployment runs it, short of a container engine (none here): a non-root user (nobody) who cannot
/// write the app's folder, a home it cannot write (the image's /home/app on a read-only root), and only two folders
/// it may write, the data emptyDir (SQLite and the mail pickup folder, by their settings) and the /tmp emptyDir
/// (TMPDIR). It must start, serve, keep its database and mail in those folders, and exit 0 on SIGTERM.
/// </summary>
public class ReadOnlyRootTests
{
    [Fact]
    public async Task Starts_writes_only_its_folders_and_exits_0_on_SIGTERM_as_a_user_without_a_writable_home()
    {
        Assert.True(Environment.UserName == "root", "This test switches to the user nobody with setpriv, which needs root (./test.sh runs as root).");
        var appFolder = AppContext.BaseDirectory;
        using var folderScope = TempFolder.Scoped("k8s-readonly");
        var folder = folderScope.Path;
        // The emptyDirs: owned by the app's user, as fsGroup makes them in the pod.
        var data = Path.Combine(folder, "data");
        var tmp = Path.Combine(folder, "tmp");
        foreach (var writable in new[] { data, tmp })
        {
            Directory.CreateDirectory(writable);
            await NativeProcess.RunAsync("chown", ["nobody:nogroup", writable]);
        }

        await NativeProcess.RunAsync("chmod", ["755", folder]);
        // Nobody may not write the app's folder: the read-only root filesystem, short of a mount.
        await Assert.ThrowsAsync<InvalidOperationException>(() => NativeProcess.RunAsync("setpriv",
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "touch", Path.Combine(appFolder, "probe-write")]));

        // Exists, owned by root: the image's home folder on a read-only root filesystem.
        var home = Directory.CreateDirectory(Path.Combine(folder, "home")).FullName;
        var port = FreePort.Next();
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["TMPDIR"] = tmp,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Urls"] = $"http://127.0.0.1:{port}",
            ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(data, "app.db")}",
            ["Email__PickupDirectory"] = Path.Combine(data, "mail"),
            ["RateLimit__Enabled"] = "false",
        };
        await using var app = NativeProcess.Start("setpriv",
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "dotnet", Path.Combine(appFolder, "Api.dll"), "--contentRoot", appFolder],
            folder, environment);
        var address = new Uri($"http://127.0.0.1:{port}/");
        await app.WaitUntilReadyAsync(new Uri(address, "/health/ready").ToString(), "the app as nobody", TimeSpan.FromSeconds(90));

        using var http = new HttpClient { BaseAddress = address };
        var created = await http.PostAsJsonAsync("/api/users", new { name = "Read Only", email = "readonly@example.com" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
//#if (sendsEmail)
        // The welcome email reaches the pickup folder in the data emptyDir: the job ran and could write.
        await Eventually.HoldsAsync(() => Directory.Exists(Path.Combine(data, "mail")) && Directory.EnumerateFiles(Path.Combine(data, "mail"), "*.eml").Any(),
            TimeSpan.FromSeconds(30), "the welcome email in the pickup folder", () => app.Output);
//#endif
        Assert.True(File.Exists(Path.Combine(data, "app.db")));

        await NativeProcess.RunAsync("kill", ["-TERM", app.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await app.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(app.ExitCode == 0, $"The app exited {app.ExitCode} after SIGTERM:\n{app.Output}");
        Assert.DoesNotContain("fail:", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", app.Output, StringComparison.Ordinal);
    }
}
