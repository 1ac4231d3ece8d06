using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Api.ApiKeys;

/// <summary>
/// The one check of an API key, a leaf every feature may use (<c>/metrics</c> and the job dashboard each with its own key): the key is sent the way Prometheus'
/// <c>authorization</c> setting sends it (<c>Authorization: Bearer KEY</c>) or as <c>X-API-Key: KEY</c>. Both sides are hashed before the fixed-time
/// comparison, so neither the key's content nor its length leaks through timing. The key is never logged.
/// </summary>
internal sealed class ApiKeyGuard(string apiKey, string realm)
{
    private const string ApiKeyHeader = "X-API-Key";
    private const string BearerPrefix = "Bearer ";

    private readonly byte[] _expectedHash = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    public void Apply(IApplicationBuilder branch) => branch.Use(next => context =>
        IsAuthorized(context.Request.Headers) ? next(context) : RejectAsync(context));

    internal bool IsAuthorized(IHeaderDictionary headers) =>
        Matches(PresentedKey(headers));

    private static string? PresentedKey(IHeaderDictionary headers)
    {
        var authorization = headers[HeaderNames.Authorization];
        if (!StringValues.IsNullOrEmpty(authorization))
        {
            var value = authorization.ToString();
            return value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) ? value[BearerPrefix.Length..].Trim() : null;
        }

        var apiKey = headers[ApiKeyHeader];
        return StringValues.IsNullOrEmpty(apiKey) ? null : apiKey.ToString();
    }

    internal bool Matches(string? presented)
    {
        if (presented is null)
        {
            return false;
        }

        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), presentedHash);
        return CryptographicOperations.FixedTimeEquals(presentedHash, _expectedHash);
    }

    private async Task RejectAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{realm}\"";
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "An API key is required",
                Detail = $"Send it as 'Authorization: Bearer <key>' or '{ApiKeyHeader}: <key>'.",
            },
        });
    }
}
