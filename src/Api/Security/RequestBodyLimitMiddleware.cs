using Api.Errors;

namespace Api.Security;

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
