namespace Api.Security;

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
