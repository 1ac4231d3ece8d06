using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace Api.Errors;

/// <summary>Every error the service writes is an RFC 7807 <c>application/problem+json</c> document.</summary>
public static class ErrorHandlingExtensions
{
    public static IHostApplicationBuilder AddErrorHandling(this IHostApplicationBuilder builder)
    {
        // The request's W3C trace id, as the logs (TraceId) and the trace backend show it; the connection-based
        // TraceIdentifier appears nowhere else.
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.TraceId.ToHexString() ?? context.HttpContext.TraceIdentifier);
        // A validation problem names each field as the JSON does ("name", not the C# property "Name"): the problem
        // writer converts the keys of "errors" with this policy. The validator itself reports C# names
        // (dotnet/aspnetcore#61764), and the API returns no other dictionaries, so nothing else changes.
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.DictionaryKeyPolicy = JsonNamingPolicy.CamelCase);
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Minimal APIs throw on unreadable input in every environment, so the handler above can say what was wrong.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return builder;
    }

    public static IApplicationBuilder UseErrorHandling(this IApplicationBuilder app) => app
        .UseExceptionHandler()
        .UseStatusCodePages();
}

/// <summary>
/// Malformed JSON, a body of the wrong shape or an unparsable route value: the client's fault, so a 400 that says which
/// parameter could not be read, instead of the 500 an unhandled exception would become.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        context.Response.StatusCode = badRequest.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = badRequest.StatusCode,
                Title = "The request could not be read",
                Detail = badRequest.Message,
            },
        });
    }
}
