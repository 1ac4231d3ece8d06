using System.Text.Json;
using System.Text.Json.Serialization;
using Api.Observability;
using Api.Users;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Observability;

[Collection(InProcessApp.Name)]
public sealed class HttpMetricsTests(DefaultApp app) : IClassFixture<DefaultApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Requests_are_counted_under_method_route_template_and_status()
    {
        var before = await MetricsScrape.FetchAsync(_client);
        var created = await (await _client.PostAsJsonAsync("/api/users", new { name = "Metered", email = $"m-{Guid.NewGuid():N}@example.com" })).ReadJsonAsync<Api.Users.UserResponse>();
        await _client.GetAsync($"/api/users/{created.Id}");
        await _client.GetAsync($"/api/users/{Guid.CreateVersion7()}");
        await _client.PostAsJsonAsync("/api/users", new { name = "", email = "bad" });

        var after = await MetricsScrape.FetchAsync(_client);

        double Delta(string method, string route, string status) =>
            after.Sum(HttpMetrics.RequestsTotal, ("method", method), ("route", route), ("status", status)) -
            before.Sum(HttpMetrics.RequestsTotal, ("method", method), ("route", route), ("status", status));
        Assert.Equal(1, Delta("POST", "/api/users", "201"));
        Assert.Equal(1, Delta("GET", "/api/users/{id:guid}", "200"));
        Assert.Equal(1, Delta("GET", "/api/users/{id:guid}", "404"));
        Assert.Equal(1, Delta("POST", "/api/users", "400"));
        Assert.DoesNotContain(after.Named(HttpMetrics.RequestsTotal), s => s.Label("route").Contains(created.Id.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Histogram_count_equals_the_counter_for_every_series()
    {
        for (var i = 0; i < 20; i++)
        {
            await _client.GetAsync(i % 2 == 0 ? "/" : "/no-such-page");
        }

        var scrape = await MetricsScrape.FetchAsync(_client);

        var counters = scrape.Named(HttpMetrics.RequestsTotal).ToList();
        Assert.NotEmpty(counters);
        foreach (var counter in counters)
        {
            var count = scrape.Named(HttpMetrics.RequestDuration + "_count")
                .Single(s => s.Label("method") == counter.Label("method") && s.Label("route") == counter.Label("route") && s.Label("status") == counter.Label("status"));
            Assert.Equal(counter.Value, count.Value);
            var infBucket = scrape.Named(HttpMetrics.RequestDuration + "_bucket")
                .Single(s => s.Label("le") == "+Inf" && s.Label("method") == counter.Label("method") && s.Label("route") == counter.Label("route") && s.Label("status") == counter.Label("status"));
            Assert.Equal(counter.Value, infBucket.Value);
        }
    }

    [Fact]
    public async Task Duration_buckets_are_seconds_sized_for_an_api()
    {
        await _client.GetAsync("/");

        var scrape = await MetricsScrape.FetchAsync(_client);

        var bounds = scrape.Named(HttpMetrics.RequestDuration + "_bucket").Where(s => s.Label("route") == "/").Select(s => s.Label("le")).Distinct().ToList();
        Assert.Equal(["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"], bounds);
        Assert.Contains("# TYPE http_request_duration_seconds histogram", scrape.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_requests_total counter", scrape.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_thousand_parallel_requests_are_counted_exactly()
    {
        var before = await MetricsScrape.FetchAsync(_client);
        using var throttle = new SemaphoreSlim(64);

        var statuses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async _ =>
        {
            await throttle.WaitAsync();
            try
            {
                using var response = await _client.GetAsync("/health/live");
                return response.StatusCode;
            }
            finally
            {
                throttle.Release();
            }
        }));
        var after = await MetricsScrape.FetchAsync(_client);

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        var labels = new[] { ("method", "GET"), ("route", "/health/live"), ("status", "200") };
        Assert.Equal(1000, after.Sum(HttpMetrics.RequestsTotal, labels) - before.Sum(HttpMetrics.RequestsTotal, labels));
        Assert.Equal(1000, after.Sum(HttpMetrics.RequestDuration + "_count", labels) - before.Sum(HttpMetrics.RequestDuration + "_count", labels));
    }

    [Fact]
    public async Task A_request_its_core_still_holds_is_in_the_next_scrape_and_the_publisher_exports_nothing()
    {
        var labels = new[] { ("method", "DELETE"), ("route", HttpMetrics.UnmatchedRoute), ("status", "404") };
        var before = await MetricsScrape.FetchAsync(_client);

        await _client.DeleteAsync("/nothing-here"); // one request: far from filling its core's batch

        var after = await MetricsScrape.FetchAsync(_client);
        Assert.Equal(1, after.Sum(HttpMetrics.RequestsTotal, labels) - before.Sum(HttpMetrics.RequestsTotal, labels));
        Assert.Equal(1, after.Sum(HttpMetrics.RequestDuration + "_count", labels) - before.Sum(HttpMetrics.RequestDuration + "_count", labels));
        Assert.DoesNotContain(HttpMetrics.PendingPublisher, after.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrapes_of_metrics_are_not_counted_and_counters_stay_while_idle()
    {
        await _client.GetAsync("/");
        var first = await MetricsScrape.FetchAsync(_client);
        for (var i = 0; i < 5; i++)
        {
            await MetricsScrape.FetchAsync(_client);
        }

        var later = await MetricsScrape.FetchAsync(_client);

        Assert.DoesNotContain(later.Named(HttpMetrics.RequestsTotal), s => s.Label("route").Contains("metrics", StringComparison.Ordinal));
        Assert.True(later.Sum(HttpMetrics.RequestsTotal, ("route", "/")) >= first.Sum(HttpMetrics.RequestsTotal, ("route", "/")));
        Assert.True(later.Sum(HttpMetrics.RequestsTotal, ("route", "/")) >= 1);
    }
}

/// <summary>
/// A feature that maps its own exception to 409 with an IExceptionHandler: the metric records the 409 the client got,
/// because the status is decided by the error handling alone. The exception is thrown while the request body is read,
/// inside the POST /api/users endpoint, so it also shows the route of a failed request is kept.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class HttpMetricsCustomHandlerTests(HttpMetricsCustomHandlerTests.App app) : IClassFixture<HttpMetricsCustomHandlerTests.App>
{
    public sealed class App : ApiFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(services =>
            {
                services.AddExceptionHandler<ConflictHandler>();
                services.ConfigureHttpJsonOptions(options => options.SerializerOptions.Converters.Add(new ConflictingRequestConverter()));
            });
        }
    }

    private sealed class ConflictException() : Exception("Someone else holds this.");

    private sealed class ConflictingRequestConverter : JsonConverter<CreateUserRequest>
    {
        public override CreateUserRequest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new ConflictException();

        public override void Write(Utf8JsonWriter writer, CreateUserRequest value, JsonSerializerOptions options) =>
            throw new NotSupportedException();
    }

    private sealed class ConflictHandler(IProblemDetailsService problems) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not ConflictException)
            {
                return false;
            }

            context.Response.StatusCode = StatusCodes.Status409Conflict;
            return await problems.TryWriteAsync(new() { HttpContext = context, Exception = exception, ProblemDetails = { Status = StatusCodes.Status409Conflict, Title = "Conflict" } });
        }
    }

    [Fact]
    public async Task An_exception_mapped_to_409_by_a_handler_is_counted_as_409_under_its_route()
    {
        using var client = app.CreateClient();
        var before = await MetricsScrape.FetchAsync(client);

        using var response = await client.PostAsJsonAsync("/api/users", new { name = "Taken", email = "taken@example.com" });
        var after = await MetricsScrape.FetchAsync(client);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Conflict);
        double Delta(string status) =>
            after.Sum(HttpMetrics.RequestsTotal, ("method", "POST"), ("route", "/api/users"), ("status", status)) -
            before.Sum(HttpMetrics.RequestsTotal, ("method", "POST"), ("route", "/api/users"), ("status", status));
        Assert.Equal(1, Delta("409"));
        Assert.Equal(0, Delta("500"));
    }
}

/// <summary>A real fault: the table under the app disappears, and comes back.</summary>
[Collection(InProcessApp.Name)]
public sealed class HttpFaultMetricsTests(DefaultApp broken) : IClassFixture<DefaultApp>
{
    [Fact]
    public async Task A_failing_dependency_is_a_500_problem_counted_under_its_route_and_the_service_recovers()
    {
        using var client = broken.CreateClient();
        var created = await (await client.PostAsJsonAsync("/api/users", new { name = "Soon gone", email = "gone@example.com" })).ReadJsonAsync<Api.Users.UserResponse>();
        await ExecuteSqliteAsync(broken, "ALTER TABLE users RENAME TO users_away");

        using var failed = await client.GetAsync($"/api/users/{created.Id}");
        var during = await MetricsScrape.FetchAsync(client);
        await ExecuteSqliteAsync(broken, "ALTER TABLE users_away RENAME TO users");
        using var recovered = await client.GetAsync($"/api/users/{created.Id}");

        var problem = await ProblemAssert.AssertProblemAsync(failed, HttpStatusCode.InternalServerError);
        Assert.False(problem.TryGetProperty("detail", out var detail) && detail.GetString()!.Contains("users", StringComparison.Ordinal), "no internals leak");
        Assert.Equal(1, during.Sum(HttpMetrics.RequestsTotal, ("method", "GET"), ("route", "/api/users/{id:guid}"), ("status", "500")));
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    private static async Task ExecuteSqliteAsync(ApiFactory app, string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(app.Folder, "app.db")};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// A listener on the HTTP meter that throws (a broken custom MeterListener; OpenTelemetry's does not) fails the one
/// request whose record hands its core's batch over, as it would fail any request recording into it; the batch is
/// emptied first, so the requests after it are served and counted.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class HttpMetricsThrowingListenerTests(DefaultApp app) : IClassFixture<DefaultApp>
{
    [Fact]
    public async Task A_listener_that_throws_once_fails_at_most_one_request_and_later_ones_are_counted()
    {
        var client = app.CreateClient();
        var thisAppsMeters = app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var thrown = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == thisAppsMeters && instrument.Name == HttpMetrics.RequestsTotal)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (Interlocked.Exchange(ref thrown, 1) == 0)
            {
                throw new InvalidOperationException("A broken listener.");
            }
        });
        listener.Start();

        var failed = 0;
        for (var i = 0; i < 3 * HttpMetrics.StripeCapacity; i++)
        {
            try
            {
                using var response = await client.GetAsync("/health/live");
                failed += response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
            {
                failed++; // the test server hands the server's exception to the client
            }
        }

        Assert.Equal(1, thrown);
        Assert.InRange(failed, 0, 1);
        var labels = new[] { ("method", "GET"), ("route", "/health/live"), ("status", "200") };
        var scrape = await MetricsScrape.FetchAsync(client);
        Assert.InRange(scrape.Sum(HttpMetrics.RequestsTotal, labels), 2 * HttpMetrics.StripeCapacity, 3 * HttpMetrics.StripeCapacity);
    }
}

/// <summary>
/// http_server_active_requests counts a request from the moment the metrics middleware starts it until it ends, however
/// it ends (finished, failed later, thrown at once), whichever core it ends on. Its meters live in the test process
/// (hence the collection); it reads the gauge of its own meter factory only.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class ActiveRequestsTests
{
    [Fact]
    public async Task A_request_is_in_flight_from_its_start_to_its_end_however_it_ends()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var metrics = new HttpMetrics(meters, Microsoft.Extensions.Options.Options.Create(new MetricsOptions()));
        long? active = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == HttpMetrics.ActiveRequests)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => active = value);
        listener.Start();
        long Active()
        {
            listener.RecordObservableInstruments();
            return active ?? throw new InvalidOperationException($"{HttpMetrics.ActiveRequests} reported nothing");
        }

        var slow = new TaskCompletionSource();
        var failing = new TaskCompletionSource();
        var served = new HttpMetricsMiddleware(_ => slow.Task, metrics).InvokeAsync(new DefaultHttpContext());
        var failed = Task.Run(() => new HttpMetricsMiddleware(_ => failing.Task, metrics).InvokeAsync(new DefaultHttpContext()));
        await Eventually.HoldsAsync(() => Active() == 2, TimeSpan.FromSeconds(10), "two requests in flight");

        slow.SetResult();
        await served;
        Assert.Equal(1, Active());

        failing.SetException(new InvalidOperationException("a handler failed after it went async"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => failed);
        Assert.Equal(0, Active());

        var throwsAtOnce = new HttpMetricsMiddleware(_ => throw new InvalidOperationException("thrown at once"), metrics);
        Assert.Throws<InvalidOperationException>(() => { _ = throwsAtOnce.InvokeAsync(new DefaultHttpContext()); });
        await new HttpMetricsMiddleware(_ => Task.CompletedTask, metrics).InvokeAsync(new DefaultHttpContext());
        Assert.Equal(0, Active());
    }
}
