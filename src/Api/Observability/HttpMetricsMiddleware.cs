using System.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Api.Observability;

/// <summary>
/// Times every request and records it under its route template. It runs just inside the exception handler, because
/// that handler clears the endpoint (and with it the route) before it writes its response; an exception passing
/// through here is recorded with the status the handler will give it.
/// </summary>
internal sealed class HttpMetricsMiddleware(RequestDelegate next, HttpMetrics metrics)
{
    public Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        Task pending;
        try
        {
            pending = next(context);
        }
        catch (Exception exception)
        {
            Record(context, start, StatusOf(exception, context));
            throw;
        }

        // Most requests to a small API finish synchronously; only the others pay for an async state machine.
        if (pending.IsCompletedSuccessfully)
        {
            Record(context, start, context.Response.StatusCode);
            return Task.CompletedTask;
        }

        return AwaitAndRecord(pending, context, start);
    }

    private async Task AwaitAndRecord(Task pending, HttpContext context, long start)
    {
        try
        {
            await pending;
        }
        catch (Exception exception)
        {
            Record(context, start, StatusOf(exception, context));
            throw;
        }

        Record(context, start, context.Response.StatusCode);
    }

    private static int StatusOf(Exception exception, HttpContext context) =>
        context.Response.HasStarted ? context.Response.StatusCode
        : exception is BadHttpRequestException badRequest ? badRequest.StatusCode
        : StatusCodes.Status500InternalServerError;

    private void Record(HttpContext context, long start, int statusCode)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<IDisableHttpMetricsMetadata>() is not null)
        {
            return; // The scrape endpoint, so that Prometheus does not count itself.
        }

        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? HttpMetrics.UnmatchedRoute;
        metrics.Record(context.Request.Method, route, statusCode, start);
    }
}
