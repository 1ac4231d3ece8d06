using Api.Observability;
using Microsoft.OpenApi;

namespace Api.ApiDocs;

/// <summary>Settings under <c>OpenApi</c>.</summary>
public sealed class ApiDocsOptions
{
    public const string Section = "OpenApi";

    /// <summary>Serves the OpenAPI document at <see cref="ApiDocsExtensions.DocumentPath"/>.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// The OpenAPI 3.1 document of every endpoint, generated at run time by ASP.NET Core (Microsoft.AspNetCore.OpenApi) from
/// the endpoints' own metadata: typed results, route constraints and validation attributes, so it cannot drift from the
/// code. Feed it to a client generator, Swagger UI or Scalar; turn it off with <c>OpenApi:Enabled=false</c>.
/// </summary>
public static class ApiDocsExtensions
{
    public const string DocumentPath = "/openapi/v1.json";

    public static IHostApplicationBuilder AddApiDocs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiDocsOptions>(ApiDocsOptions.Section);
        builder.Services.AddOpenApi(options => options
            .AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = ServiceInfo.Name,
                    Version = ServiceInfo.Version,
                    Description =
//#if (users)
                        "Users, " +
//#endif
//#if (realtime)
                        "a SignalR hub at /ws, " +
//#endif
                        "health at /health/live and /health/ready, Prometheus metrics at /metrics.",
                };
                // Every operation here is public by design (README, Security). One empty requirement, "security": [{}],
                // says so explicitly (an empty list is not written).
                document.Security = [new OpenApiSecurityRequirement()];
                // The generator lists each endpoint's tags; this says what they are (redocly's tag-description rule fails
                // a new tag without one).
                foreach (var tag in document.Tags ?? Enumerable.Empty<OpenApiTag>())
                {
                    tag.Description ??= tag.Name switch
                    {
//#if (users)
                        "Users" => "Sign-up" +
//#if (sendsEmail)
                            " (which queues a welcome email)" +
//#endif
                            " and reading users.",
//#endif
                        "Service" => "What is running.",
                        _ => null,
                    };
                }
                // Clients join the server URL and the paths ("/api/…"); a trailing slash would double it.
                foreach (var server in document.Servers ?? [])
                {
                    server.Url = server.Url?.TrimEnd('/');
                }

                return Task.CompletedTask;
            })
            .AddSchemaTransformer((schema, context, _) =>
            {
                // Every problem the service writes carries the request's traceId (Errors/ErrorHandlingExtensions.cs).
                if (typeof(Microsoft.AspNetCore.Mvc.ProblemDetails).IsAssignableFrom(context.JsonTypeInfo.Type) && schema.Properties is { } properties)
                {
                    properties.TryAdd("traceId", new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's trace id, to find its logs and trace." });
                }

//#if (users)
                // [DeliverableEmail] is enforced by the validation; say so in the schema.
                if (context.JsonPropertyInfo?.AttributeProvider?.IsDefined(typeof(Api.Users.DeliverableEmailAttribute), inherit: true) == true)
                {
                    schema.Format = "email";
                    schema.MinLength = Math.Max(schema.MinLength ?? 0, 5); // "a@b.c": a local part, an @ and a dotted domain
                }

//#endif
                // Integers are described as "integer or numeric string" because the JSON options could read numbers from
                // strings; no request body here has a number, and query and route values are parsed as integers.
                if ((schema.Type & ~JsonSchemaType.Null) == (JsonSchemaType.Integer | JsonSchemaType.String) && schema.Pattern is not null)
                {
                    schema.Type = JsonSchemaType.Integer | (schema.Type & JsonSchemaType.Null);
                    schema.Pattern = null;
                }

                return Task.CompletedTask;
            }));
        return builder;
    }

    public static IEndpointRouteBuilder MapApiDocs(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<ApiDocsOptions>>().Value.Enabled)
        {
            endpoints.MapOpenApi(DocumentPath);
        }

        return endpoints;
    }
}
