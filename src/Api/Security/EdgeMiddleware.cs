using Api.Errors;
using Api.Observability;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Api.Security;

/// <summary>
/// Headers every response carries: no MIME sniffing, no framing (the job dashboard and the sign-in form are HTML; a
/// JSON response is harmless to mark too), and no <c>Server</c> header (Kestrel's is switched off in AddSecurity).
/// Set when the response starts, so error responses written by the exception handler carry them as well.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.XContentTypeOptions = "nosniff";
            // Antiforgery sets SAMEORIGIN when it issues a token; nothing here is meant to be framed at all.
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = "frame-ancestors 'none'";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }
}

/// <summary>
/// <c>HEAD</c> is answered wherever <c>GET</c> is: routed as a GET (Kestrel still sends no body for a HEAD), then
/// restored so the metrics record the method the client sent.
/// </summary>
internal sealed class HeadAsGetMiddleware(RequestDelegate next)
{
    // Every other request passes straight through, without an async state machine of its own.
    public Task InvokeAsync(HttpContext context) =>
        HttpMethods.IsHead(context.Request.Method) ? AsGetAsync(context) : next(context);

    private async Task AsGetAsync(HttpContext context)
    {
        context.Request.Method = HttpMethods.Get;
        try
        {
            await next(context);
        }
        finally
        {
            context.Request.Method = HttpMethods.Head;
        }
    }
}

/// <summary>
/// A body declared larger than <c>Api:MaxRequestBodyBytes</c> is refused before a byte of it is read (Kestrel's own
/// limit, set to the same value, stops a chunked body that grows past it).
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<RequestLimitsOptions> options)
{
    private readonly long _limit = options.Value.MaxRequestBodyBytes;

    public Task InvokeAsync(HttpContext context) =>
        context.Request.ContentLength > _limit ? RejectAsync(context, _limit) : next(context);

    private static async Task RejectAsync(HttpContext context, long limit)
    {
        // The unread body is not drained for a keep-alive: the client that sent megabytes may as well reconnect.
        context.Response.Headers.Connection = "close";
        await context.WriteProblemAsync(StatusCodes.Status413PayloadTooLarge, "The request body is too large",
            $"Request bodies are limited to {limit} bytes.");
    }
}

/// <summary>
/// With <c>Metrics:Port</c> set, that port is a different door, decided by the port the connection arrived on (never
/// by the Host header, which the client writes): it serves the scrape and the health checks and nothing else, and the
/// public port does not serve the scrape.
/// </summary>
internal sealed class MetricsPortMiddleware(RequestDelegate next, IOptions<MetricsOptions> options)
{
    // Registered only when Metrics:Port is set (SecurityExtensions.UseSecurity).
    private readonly int _port = options.Value.Port ?? throw new InvalidOperationException("Metrics:Port is not set.");
    private readonly PathString _metricsPath = options.Value.Path;
    private static readonly PathString HealthPath = "/health";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var onMetricsPort = context.Connection.LocalPort == _port;
        var allowed = onMetricsPort
            ? path.StartsWithSegments(_metricsPath) || path.StartsWithSegments(HealthPath)
            : !path.StartsWithSegments(_metricsPath);
        if (allowed)
        {
            return next(context);
        }

        // An empty 404: the status code pages write it as a problem, the same as any unknown path.
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
