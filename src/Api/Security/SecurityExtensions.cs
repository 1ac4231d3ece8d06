using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Api.Errors;
using Api.ScaleOut;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Api.Security;

/// <summary>
/// The service's edges: which proxies are believed, how large a body may be, how often a client may sign up or guess a
/// key, and the headers every response carries. Who may open the job dashboard is the queue's (Queue/DashboardSignIn.cs).
/// See README, "Security".
/// </summary>
public static class SecurityExtensions
{
    /// <summary>The rate-limit policy of whatever sends mail to a caller-chosen address (sign-up).</summary>
    public const string SignUpPolicy = "sign-up";

    /// <summary>The rate-limit policy of key guesses at the dashboard's sign-in form.</summary>
    internal const string SignInPolicy = "sign-in";

    private const int SignInsPerMinute = 10;

    public static IHostApplicationBuilder AddSecurity(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ForwardedHeadersSettings>(ForwardedHeadersSettings.Section);
        builder.Services.AddValidatedOptions<RateLimitOptions>(RateLimitOptions.Section);
        builder.Services.AddValidatedOptions<RequestLimitsOptions>(RequestLimitsOptions.Section);
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((forwarded, settings) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The defaults trust loopback, i.e. any proxy on this host: only the configured proxies are trusted.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in settings.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }

            // Walk the whole chain back to the first address no trusted proxy vouches for.
            forwarded.ForwardLimit = null;
        });

        builder.Services.AddRateLimiter(AddSignUpPolicy);
        return builder;
    }

    /// <summary>The client's real address, from the configured proxies only (none by default).</summary>
    public static IApplicationBuilder UseForwardedHeadersFromTrustedProxies(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value.Enabled ? app.UseForwardedHeaders() : app;

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.UseMiddleware<SecurityHeadersMiddleware>();

    public static IApplicationBuilder UseHeadAsGet(this IApplicationBuilder app) => app.UseMiddleware<HeadAsGetMiddleware>();

    /// <summary>After routing, so a 413 is counted under the route it was sent to.</summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) => app.UseMiddleware<RequestBodyLimitMiddleware>();

    private static void AddSignUpPolicy(RateLimiterOptions limiter)
    {
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.OnRejected = RejectAsync;
        limiter.AddPolicy(SignUpPolicy, context => PerClientPerMinute(context, SignUpPolicy, options => options.SignUpsPerMinute));
        limiter.AddPolicy(SignInPolicy, context => PerClientPerMinute(context, SignInPolicy, _ => SignInsPerMinute));
    }

    private static RateLimitPartition<string> PerClientPerMinute(HttpContext context, string policy, Func<RateLimitOptions, int> permits)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        // The client's address: the connection's, or the one trusted proxies forwarded (UseForwardedHeaders).
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        // Counted for the whole fleet when Redis is configured (ScaleOut/FleetRateLimits.cs).
        return options.Enabled
            ? context.RequestServices.GetRequiredService<FleetRateLimits>().PerMinute(policy, client, permits(options))
            : RateLimitPartition.GetNoLimiter(client);
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 60;
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        await context.WriteProblemAsync(StatusCodes.Status429TooManyRequests, "Too many requests",
            $"Too many requests from this address; try again in {retryAfter} seconds.");
    }
}
