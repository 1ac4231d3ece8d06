using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Api.Tests.Infrastructure;
using Api.Tests.Monitoring;

namespace Api.Tests.Notes;

/// <summary>
/// The add-an-endpoint recipe's resource (docs/RECIPES.md): its answers, its problems, its OpenAPI operations, and the
/// HTTP metrics, trace and dashboard rows it gets without a line of its own.
/// </summary>
public sealed class NotesApiTests
{
    [Fact]
    public async Task Notes_are_created_read_validated_documented_measured_and_traced()
    {
        var routes = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (routes)
                {
                    routes.Add(activity.GetTagItem("http.route") as string ?? "");
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        // Traces are recorded once an OTLP endpoint is set, as in production; nothing listens on this one.
        await using var factory = new ApiFactory(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:9/v1/traces" });
        using var client = new HttpClient { BaseAddress = factory.BaseAddress };

        using var created = await client.PostAsJsonAsync("/api/notes", new { text = " Buy milk ", pinned = true });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var note = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Buy milk", note.GetProperty("text").GetString());
        Assert.Equal(created.Headers.Location!.OriginalString, $"/api/notes/{note.GetProperty("id").GetString()}");
        var read = await client.GetFromJsonAsync<JsonElement>(created.Headers.Location);
        Assert.True(read.GetProperty("pinned").GetBoolean());

        using var invalid = await client.PostAsJsonAsync("/api/notes", new { text = "" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("application/problem+json", invalid.Content.Headers.ContentType!.MediaType);
        Assert.True((await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("text", out _));
        using var missing = await client.GetAsync($"/api/notes/{Guid.CreateVersion7()}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);

        var openApi = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var post = openApi.GetProperty("paths").GetProperty("/api/notes").GetProperty("post");
        Assert.Equal("CreateNote", post.GetProperty("operationId").GetString());
        Assert.True(post.GetProperty("responses").TryGetProperty("400", out _));

        var scrape = await MetricsScrape.FetchAsync(client);
        Assert.Equal(1, scrape.Sum("http_requests_total", ("route", "/api/notes"), ("method", "POST"), ("status", "201")));
        Assert.Equal(1, scrape.Sum("http_requests_total", ("route", "/api/notes/{id:guid}"), ("status", "404")));
        lock (routes)
        {
            Assert.Contains("/api/notes", routes);
        }

        // The dashboard's request rows are grouped by route, not written per route: the new routes have rows already.
        foreach (var dashboard in Directory.EnumerateFiles(MonitoringConfig.RepositoryFile("grafana/dashboards"), "*.json"))
        {
            Assert.DoesNotContain("/api/users", File.ReadAllText(dashboard), StringComparison.Ordinal);
        }
    }
}
