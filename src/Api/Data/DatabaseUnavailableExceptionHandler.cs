using System.Data.Common;
using Api.Errors;
using Microsoft.AspNetCore.Diagnostics;

namespace Api.Data;

/// <summary>
/// A request that fails because the database is down, hung or timing out is the service's outage, not the client's
/// error: 503 with a problem document that says so and invites a retry, rather than a 500.
/// </summary>
internal sealed class DatabaseUnavailableExceptionHandler(ILogger<DatabaseUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsUnavailable(exception))
        {
            return false;
        }

        logger.LogWarning(exception, "{Method} {Path} answered 503: the database is unavailable", context.Request.Method, context.Request.Path);
        context.Response.Headers.RetryAfter = "5";
        await context.WriteProblemAsync(StatusCodes.Status503ServiceUnavailable, "The database is unavailable",
            "The service cannot reach its database right now. Nothing was changed; try again shortly.", exception);
        return true; // handled, with or without a body (a client that accepts no JSON gets the status alone)
    }

    /// <summary>A transient database error (connection refused or lost, a timeout) anywhere in the exception's causes.</summary>
    internal static bool IsUnavailable(Exception exception)
    {
        for (var current = (Exception?)exception; current is not null; current = current.InnerException)
        {
            if (current is DbException { IsTransient: true } or TimeoutException)
            {
                return true;
            }
        }

        return false;
    }
}
