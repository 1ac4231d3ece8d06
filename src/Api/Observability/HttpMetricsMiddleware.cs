using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Api.Observability;

/// <summary>
/// Times every request and records it under its route template and the status the client was sent. It runs outside
/// the exception handler, so the status is whatever the error handling decided (no second opinion here); the handler
/// clears the endpoint before it writes its response, so the route of a failed request comes from the handler's
/// <see cref="IExceptionHandlerPathFeature"/>, as OpenTelemetry's ASP.NET Core instrumentation reads it.
/// </summary>
internal sealed class HttpMetricsMiddleware(RequestDelegate next, HttpMetrics metrics)
{
    public Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        metrics.RequestStarted();
        Task pending;
        try
        {
            pending = next(context);
        }
        catch
        {
            Record(context, start, escaped: true);
            throw;
        }

        // Most requests to a small API finish synchronously; only the others pay for an async state machine.
        if (pending.IsCompletedSuccessfully)
        {
            Record(context, start, escaped: false);
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
        catch
        {
            Record(context, start, escaped: true);
            throw;
        }

        Record(context, start, escaped: false);
    }

    private void Record(HttpContext context, long start, bool escaped)
    {
        metrics.RequestEnded();
        var endpoint = context.Features.Get<IExceptionHandlerPathFeature>()?.Endpoint ?? context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<IDisableHttpMetricsMetadata>() is not null)
        {
            return; // The scrape endpoint, so that Prometheus does not count itself.
        }

        // Only an exception the error handling could not answer gets this far (its response had already started); were
        // one to arrive before the response started, Kestrel would answer it with a 500 of its own.
        var statusCode = escaped && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? HttpMetrics.UnmatchedRoute;
        metrics.Record(context.Request.Method, route, statusCode, start);
    }
}
