using System.Security.Claims;
using System.Text.Encodings.Web;
using Api.Errors;
using Api.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Api.Queue;

/// <summary>
/// Who may open the job dashboard (it deletes and requeues jobs), decided in one place: a request that carries the
/// dashboard's own key (<c>Queue:Dashboard:ApiKey</c>; the metrics key never opens it) as <c>Authorization: Bearer KEY</c> or
/// <c>X-API-Key: KEY</c>; a browser signed in with that key (an HttpOnly, SameSite=Strict cookie, set by the form at
/// <c>{dashboard}/signin</c>, since a browser cannot send a Bearer header); or, only with the explicit development
/// opt-in <c>Queue:Dashboard:AllowLocalRequestsWithoutKey</c>, a loopback connection. Never the address alone by
/// default: behind a reverse proxy on the same host every request is local.
/// </summary>
internal static class DashboardSignIn
{
    // The authorization policy and the cookie scheme share the name; the claim holds which key a session was signed in
    // with, so changing the key ends every session.
    public const string Policy = "dashboard", Scheme = Policy, KeyClaim = "dashboard-key";

    public static void AddDashboardSignIn(this IServiceCollection services)
    {
        services.AddSingleton<DashboardKey>();
        services.AddSingleton<IAuthorizationHandler, DashboardAccessHandler>();
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy
            .AddAuthenticationSchemes(Scheme)
            .AddRequirements(new DashboardAccessRequirement()));
        // The dashboard's policy names its scheme. Without this switch ASP.NET Core makes a lone scheme the default, and
        // every request, /api included, would run the cookie handler for nothing (BENCHMARKS.md, the real path). A
        // scheme added later for the API is the default only when set as such: AddAuthentication("Bearer").
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication().AddCookie(Scheme);
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<IOptions<QueueOptions>>((cookie, queue) =>
        {
            var dashboardPath = queue.Value.Dashboard.Path;
            cookie.Cookie.Name = "dashboard";
            cookie.Cookie.Path = dashboardPath;
            cookie.Cookie.HttpOnly = true;
            // Strict: a cross-site page cannot make the browser send it, so it cannot act on a developer's session.
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
            cookie.SlidingExpiration = true;
            cookie.LoginPath = SignInPath(dashboardPath);
            cookie.ReturnUrlParameter = "returnUrl";
            cookie.Events.OnRedirectToLogin = context =>
                IsPageRequest(context.Request) ? RedirectAsync(context) : RejectAsync(context.HttpContext);
            // A session signed in with a key that has since changed is refused: back to the sign-in form, not to
            // ASP.NET Core's default /Account/AccessDenied, which this app does not have.
            cookie.AccessDeniedPath = SignInPath(dashboardPath);
            cookie.Events.OnRedirectToAccessDenied = cookie.Events.OnRedirectToLogin;
        });
        // Hangfire checks an antiforgery token on every dashboard POST when IAntiforgery is registered; its pages carry
        // the token. The sign-in form is a form endpoint, which the antiforgery middleware checks too.
        services.AddAntiforgery();
        services.AddOptions<AntiforgeryOptions>().Configure<IOptions<QueueOptions>>((antiforgery, queue) =>
        {
            antiforgery.Cookie.Name = "dashboard-antiforgery";
            antiforgery.Cookie.Path = queue.Value.Dashboard.Path;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.SuppressXFrameOptionsHeader = true; // SecurityHeadersMiddleware sets DENY on everything.
        });
    }

    public static string SignInPath(string dashboardPath) => $"{dashboardPath.TrimEnd('/')}/signin";

    public static IEndpointRouteBuilder MapDashboardSignIn(this IEndpointRouteBuilder endpoints, string dashboardPath)
    {
        var path = SignInPath(dashboardPath);
        endpoints.MapGet(path, (HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
                Form(context, antiforgery, dashboardPath, returnUrl, error: null, StatusCodes.Status200OK))
            .ExcludeFromDescription();
        endpoints.MapPost(path, SignInAsync).RequireRateLimiting(SecurityExtensions.SignInPolicy).ExcludeFromDescription();
        return endpoints;

        async Task<IResult> SignInAsync(HttpContext context, IAntiforgery antiforgery, DashboardKey dashboardKey, [FromForm(Name = "key")] string? presentedKey, [FromForm] string? returnUrl)
        {
            if (!dashboardKey.Matches(presentedKey))
            {
                return Form(context, antiforgery, dashboardPath, returnUrl, "That key does not open the dashboard.", StatusCodes.Status401Unauthorized);
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "dashboard"), new Claim(KeyClaim, dashboardKey.Fingerprint)], Scheme);
            await context.SignInAsync(Scheme, new ClaimsPrincipal(identity));
            return Results.LocalRedirect(SafeReturnUrl(returnUrl, dashboardPath));
        }
    }

    // Only a path under the dashboard: never an absolute or protocol-relative URL (an open redirect).
    private static string SafeReturnUrl(string? returnUrl, string dashboardPath) =>
        returnUrl is not null && returnUrl.StartsWith(dashboardPath, StringComparison.Ordinal) && !returnUrl.Contains("//", StringComparison.Ordinal) && !returnUrl.Contains('\\', StringComparison.Ordinal)
            ? returnUrl
            : dashboardPath;

    private static IResult Form(HttpContext context, IAntiforgery antiforgery, string dashboardPath, string? returnUrl, string? error, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var html = HtmlEncoder.Default;
        var configured = context.RequestServices.GetRequiredService<DashboardKey>().IsConfigured;
        var message = error ?? (configured ? null : "No dashboard key is configured (Queue:Dashboard:ApiKey): sign-in is off.");
        var body = $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Job dashboard: sign in</title>
            <style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto}input{display:block;width:100%;margin:.5rem 0;padding:.4rem}</style>
            </head><body>
            <h1>Job dashboard</h1>
            {{(message is null ? "" : $"<p role=\"alert\">{html.Encode(message)}</p>")}}
            <form method="post" action="{{html.Encode(SignInPath(dashboardPath))}}">
            <label for="key">Dashboard key</label>
            <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
            <input type="hidden" name="{{html.Encode(tokens.FormFieldName)}}" value="{{html.Encode(tokens.RequestToken ?? "")}}">
            <input type="hidden" name="returnUrl" value="{{html.Encode(SafeReturnUrl(returnUrl, dashboardPath))}}">
            <button type="submit">Sign in</button>
            </form>
            </body></html>
            """;
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(body, "text/html; charset=utf-8", statusCode: status);
    }

    private static bool IsPageRequest(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    private static Task RedirectAsync(RedirectContext<CookieAuthenticationOptions> context)
    {
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    // A script, curl or Prometheus gets a problem it can act on rather than a redirect to an HTML form.
    private static async Task RejectAsync(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"dashboard\"";
        await context.WriteProblemAsync(StatusCodes.Status401Unauthorized, "The dashboard key is required",
            "Send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>', or sign in from a browser.");
    }
}
