using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
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
internal sealed partial class BadRequestExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        await context.WriteProblemAsync(badRequest.StatusCode, "The request could not be read", ClientMessage(badRequest), exception);
        return true; // handled, with or without a body (a client that accepts no JSON gets the status alone)
    }

    // The framework's messages name the handler's parameters with their C# types ('Failed to read parameter
    // "CreateUserRequest request"'); the client is told about what it sent instead.
    internal static string ClientMessage(BadHttpRequestException exception)
    {
        var message = exception.Message;
        if (message.StartsWith("Failed to read parameter", StringComparison.Ordinal))
        {
            return exception.InnerException is JsonException { Path: { } path }
                ? $"The request body is not valid JSON for this endpoint (at {path})."
                : "The request body is not valid JSON for this endpoint.";
        }

        if (message.StartsWith("Required parameter", StringComparison.Ordinal) || message.StartsWith("Implicit body inferred", StringComparison.Ordinal))
        {
            return "A JSON request body is required.";
        }

        var binding = BindFailure().Match(message);
        if (binding.Success)
        {
            return $"'{binding.Groups["value"].Value}' is not a valid value for '{binding.Groups["name"].Value}'.";
        }

        return message.Contains("parameter \"", StringComparison.Ordinal) ? "The request could not be read." : message;
    }

    [GeneratedRegex("""^Failed to bind parameter "[^"]* (?<name>[^" ]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();
}
