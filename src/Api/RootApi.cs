using Api.Observability;

namespace Api;

public static class RootApi
{
    public sealed record ServiceDescription(string Name, string Version);

    private static readonly ServiceDescription Description = new(ServiceInfo.Name, ServiceInfo.Version);

    /// <summary><c>GET /</c>: what is running. Also the cheapest endpoint, which the benchmarks measure.</summary>
    public static IEndpointRouteBuilder MapRoot(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", () => TypedResults.Ok(Description)).WithTags("Service")
            .WithName("GetService").WithSummary("Name and version of the running service")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge); // Api:MaxRequestBodyBytes applies to every request
        return endpoints;
    }
}
