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
