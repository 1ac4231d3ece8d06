using System.Text.Json;
using System.Text.RegularExpressions;
using Api.ApiDocs;
using Api.Tests.Monitoring;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.ApiDocs;

[Collection(InProcessApp.Name)]
public sealed class ApiDocsTests(DefaultApp app) : IClassFixture<DefaultApp>
{
    [Fact]
    public async Task The_document_lists_every_api_endpoint_the_app_maps_with_its_problem_responses()
    {
        using var client = app.CreateClient();

        var response = await client.GetAsync(ApiDocsExtensions.DocumentPath);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.StartsWith("3.1", root.GetProperty("openapi").GetString());
        Assert.Equal("backend-boilerplate", root.GetProperty("info").GetProperty("title").GetString());

        // Every route a client calls (not the hub, health, metrics or dashboard plumbing) is in the document.
        var paths = root.GetProperty("paths");
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText!)
            .Where(p => p == "/" || p.StartsWith("/api/", StringComparison.Ordinal))
            .Select(p => p.Replace(":guid", "", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.NotEmpty(mapped);
        Assert.All(mapped, path => Assert.True(paths.TryGetProperty(path, out _), $"{path} is in the document"));

        // Every status an operation can answer: 413 over Api:MaxRequestBodyBytes, 429 over the sign-up limit, 503 when the
        // database does not answer in time.
        Assert.Equal(["201", "400", "409", "413", "415", "429", "503"], Responses(paths, "/api/users", "post"));
        Assert.False(root.GetProperty("servers")[0].GetProperty("url").GetString()!.EndsWith('/'), "no trailing slash on the server URL");
        foreach (var (path, method, id) in new[] { ("/api/users", "post", "CreateUser"), ("/api/users/{id}", "get", "GetUser"), ("/api/users", "get", "ListUsers"), ("/", "get", "GetService") })
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            Assert.Equal(id, operation.GetProperty("operationId").GetString());
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()));
        }

        var schemas = root.GetProperty("components").GetProperty("schemas");
        var email = schemas.GetProperty("CreateUserRequest").GetProperty("properties").GetProperty("email");
        Assert.Equal("email", email.GetProperty("format").GetString());
        Assert.Equal(5, email.GetProperty("minLength").GetInt32());
        Assert.True(schemas.GetProperty("ProblemDetails").GetProperty("properties").TryGetProperty("traceId", out _));
        Assert.True(schemas.GetProperty("HttpValidationProblemDetails").GetProperty("properties").TryGetProperty("traceId", out _));
        var listParameters = paths.GetProperty("/api/users").GetProperty("get").GetProperty("parameters").EnumerateArray().ToList();
        var after = listParameters.Single(p => p.GetProperty("name").GetString() == "after");
        Assert.Equal("uuid", after.GetProperty("schema").GetProperty("format").GetString());
        Assert.Contains("same cost at any depth", after.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("Costs what it skips", listParameters.Single(p => p.GetProperty("name").GetString() == "page").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(paths.GetProperty("/api/users").GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("headers").TryGetProperty("Link", out _), "the Link header is documented");
        // The numbers of the list: integers, not "integer or numeric string" (the cursor is a uuid, above).
        foreach (var parameter in listParameters.Where(p => p.GetProperty("name").GetString() != "after"))
        {
            var schema = parameter.GetProperty("schema");
            Assert.Equal("integer", schema.GetProperty("type").GetString());
            Assert.False(schema.TryGetProperty("pattern", out _));
            Assert.Equal(1, schema.GetProperty("minimum").GetInt32());
            Assert.True(schema.TryGetProperty("maximum", out _));
        }

        Assert.Equal(["200", "404", "413", "503"], Responses(paths, "/api/users/{id}", "get"));
        Assert.Equal(["200", "400", "413", "503"], Responses(paths, "/api/users", "get"));
        Assert.Equal(["200", "413"], Responses(paths, "/", "get"));
        Assert.True(paths.GetProperty("/api/users").GetProperty("post").GetProperty("responses").GetProperty("409")
            .GetProperty("content").TryGetProperty("application/problem+json", out _), "errors are problem+json");
    }

    [Fact]
    public async Task The_document_passes_redocly_recommended_rules_without_a_warning()
    {
        var lintFolder = MonitoringConfig.RepositoryFile("tools/openapi-lint");
        var redocly = Path.Combine(lintFolder, "node_modules", ".bin", "redocly");
        Assert.True(File.Exists(redocly),
            $"Redocly CLI is missing: run `npm ci --prefix tools/openapi-lint` (./test.sh does), which needs Node.js and npm");
        using var client = app.CreateClient();
        var file = Path.Combine(app.Folder, "openapi.json");
        await File.WriteAllTextAsync(file, await client.GetStringAsync(ApiDocsExtensions.DocumentPath));

        // redocly exits 0 with warnings; a warning fails this test too (each problem is one "line:column severity rule" line).
        var output = await NativeProcess.RunAsync(redocly,
            ["lint", file, "--config", Path.Combine(lintFolder, "redocly.yaml"), "--format", "stylish"],
            environment: new Dictionary<string, string?> { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" },
            timeout: TimeSpan.FromMinutes(2));
        var problems = output.Split('\n').Where(line => Regex.IsMatch(line, @"^\s*\d+:\d+\s+(error|warning)\s")).ToList();
        Assert.True(problems.Count == 0 && !Regex.IsMatch(output, @"You have \d+ warnings?"), "redocly lint:\n" + output);
        Assert.Contains("Your API description is valid", output, StringComparison.Ordinal);
    }

    private static string[] Responses(JsonElement paths, string path, string method) =>
        [.. paths.GetProperty(path).GetProperty(method).GetProperty("responses").EnumerateObject().Select(r => r.Name).Order()];
}

[Collection(InProcessApp.Name)]
public sealed class ApiDocsDisabledTests(ApiDocsDisabledTests.App app) : IClassFixture<ApiDocsDisabledTests.App>
{
    public sealed class App() : ApiFactory(new Dictionary<string, string?> { ["OpenApi:Enabled"] = "false" });

    [Fact]
    public async Task With_the_document_disabled_its_path_is_a_404_problem()
    {
        using var client = app.CreateClient();

        var response = await client.GetAsync(ApiDocsExtensions.DocumentPath);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
