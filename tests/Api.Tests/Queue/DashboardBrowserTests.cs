using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PuppeteerSharp;

namespace Api.Tests.Queue;

/// <summary>
/// The dashboard's way in for a person, in a real browser (Debian's chromium, driven over the DevTools protocol):
/// signed in with the key it sees the dashboard, without the key it does not, and a page on another site cannot make
/// it act on the dashboard.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class DashboardBrowserTests(DashboardBrowserTests.App app) : IClassFixture<DashboardBrowserTests.App>, IAsyncLifetime
{
    public const string Key = "browser-dashboard-key";
    private const string Chromium = "/usr/bin/chromium";

    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["Queue:Dashboard:ApiKey"] = Key });

    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} not found: install it with 'apt-get install -y --no-install-recommends chromium' (test.sh does).");
        }

        _browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            Headless = true,
            ExecutablePath = Chromium,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    private async Task<IPage> NewPageAsync()
    {
        var context = await _browser.CreateBrowserContextAsync(); // its own cookie jar
        return await context.NewPageAsync();
    }

    [Fact]
    public async Task Signed_in_with_the_key_the_browser_sees_the_dashboard_and_its_session_cookie_is_out_of_scripts_reach()
    {
        var page = await NewPageAsync();
        var dashboard = new Uri(app.BaseAddress, "/hangfire/jobs/failed");

        await page.GoToAsync(dashboard.ToString());
        Assert.Equal("/hangfire/signin", new Uri(page.Url).AbsolutePath);

        await page.TypeAsync("#key", Key);
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("button[type=submit]"));

        Assert.Equal(dashboard.AbsolutePath, new Uri(page.Url).AbsolutePath);
        Assert.Contains("Failed Jobs", await page.GetContentAsync(), StringComparison.Ordinal);
        var session = (await page.GetCookiesAsync(app.BaseAddress.ToString() + "hangfire")).Single(c => c.Name == "dashboard");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSite.Strict, session.SameSite);
        Assert.DoesNotContain("dashboard=", await page.EvaluateExpressionAsync<string>("document.cookie"), StringComparison.Ordinal);

        // The dashboard's own script polls its stats with a POST carrying the antiforgery token: it must get through.
        var stats = await page.EvaluateFunctionAsync<int>("""
            async () => {
              const token = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
              const header = document.querySelector('meta[name="csrf-header"]')?.content ?? 'X-CSRF-TOKEN';
              const response = await fetch('/hangfire/stats', { method: 'POST', headers: { [header]: token, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'metrics[]=enqueued:count' });
              return response.status;
            }
            """);
        Assert.Equal(200, stats);
    }

    [Fact]
    public async Task Without_the_key_the_browser_never_sees_the_dashboard()
    {
        var page = await NewPageAsync();

        await page.GoToAsync(new Uri(app.BaseAddress, "/hangfire").ToString());
        await page.TypeAsync("#key", "not-the-key");
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("button[type=submit]"));

        Assert.Equal("/hangfire/signin", new Uri(page.Url).AbsolutePath);
        var html = await page.GetContentAsync();
        Assert.Contains("does not open the dashboard", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Failed Jobs", html, StringComparison.Ordinal);
        var direct = await page.GoToAsync(new Uri(app.BaseAddress, "/hangfire/jobs/failed").ToString());
        Assert.Equal("/hangfire/signin", new Uri(page.Url).AbsolutePath);
        Assert.Equal(HttpStatusCode.OK, direct.Status); // the form, after the redirect
    }

    [Fact]
    public async Task A_page_on_another_site_cannot_post_to_the_dashboard_of_a_signed_in_browser()
    {
        var page = await NewPageAsync();
        await page.GoToAsync(new Uri(app.BaseAddress, "/hangfire/signin").ToString());
        await page.TypeAsync("#key", Key);
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("button[type=submit]"));
        Assert.Equal("/hangfire", new Uri(page.Url).AbsolutePath);

        // localhost is another site than 127.0.0.1 to the browser: the attacker's page auto-submits a delete form.
        var target = new Uri(app.BaseAddress, "/hangfire/jobs/scheduled/delete");
        await using var evil = await EvilSite.StartAsync($"""
            <form id="f" method="post" action="{target}"><input name="jobs[]" value="1"></form>
            <script>document.getElementById('f').submit()</script>
            """);
        var navigation = page.WaitForNavigationAsync(new NavigationOptions { WaitUntil = [WaitUntilNavigation.Load] });
        await page.GoToAsync(evil.Address.ToString());
        var response = await navigation;

        Assert.Equal(target.AbsolutePath, new Uri(page.Url).AbsolutePath);
        // The SameSite=Strict session cookie is not sent on a cross-site POST, so the dashboard sees no one.
        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
    }

    /// <summary>A page served from http://localhost:PORT, a different site from the app's http://127.0.0.1.</summary>
    private sealed class EvilSite(WebApplication app, Uri address) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public static async Task<EvilSite> StartAsync(string body)
        {
            var port = FreePort.Next();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.Run(context =>
            {
                context.Response.ContentType = "text/html";
                return context.Response.WriteAsync($"<!DOCTYPE html><html><body>{body}</body></html>");
            });
            await app.StartAsync();
            return new EvilSite(app, new Uri($"http://localhost:{port}/"));
        }

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
