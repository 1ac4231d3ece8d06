namespace Api.Errors;

/// <summary>
/// Writes a problem response from middleware or an exception handler (endpoints return <c>TypedResults.Problem</c>), through
/// the app's <see cref="IProblemDetailsService"/>, so it carries the same fields (<c>traceId</c>) as every other problem.
/// </summary>
public static class ProblemResponses
{
    /// <summary>
    /// Sets the status and writes the problem. Never throws for a client's <c>Accept</c> header: when no writer accepts
    /// it (<c>Accept: text/html</c>) the status goes out with an empty body, where <c>WriteAsync</c> would make it a 500.
    /// </summary>
    public static ValueTask<bool> WriteProblemAsync(this HttpContext context, int status, string title, string detail, Exception? exception = null)
    {
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
