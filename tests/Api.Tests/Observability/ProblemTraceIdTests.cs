using System.Diagnostics;
using System.Text.Json;

namespace Api.Tests.Observability;

/// <summary>On default settings (nothing exported), a problem's traceId is still the request's W3C trace id.</summary>
[Collection(InProcessApp.Name)]
public sealed class ProblemTraceIdTests
{
    [Fact]
    public async Task A_problem_carries_the_trace_id_of_the_callers_traceparent()
    {
        await using var app = new ApiFactory();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/users/{Guid.NewGuid()}");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(traceId, (await response.ReadJsonAsync<JsonElement>()).GetProperty("traceId").GetString());
    }
}
