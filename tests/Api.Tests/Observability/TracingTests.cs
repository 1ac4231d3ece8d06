using System.Diagnostics;
using System.Text.Json;

namespace Api.Tests.Observability;

/// <summary>
/// Traces and logs as a receiver gets them: the app runs as its own process and exports over OTLP to a real Aspire
/// dashboard, whose telemetry API the test reads. A sign-up is one trace from the request to the SMTP send.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private AspireDashboard _dashboard = null!;
    private SmtpSink _smtp = null!;
    private TempApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _dashboard = await AspireDashboard.StartAsync();
        _smtp = await SmtpSink.StartAsync();
        var settings = new Dictionary<string, string?>(_dashboard.ExportSettings)
        {
            ["Email:Smtp:Host"] = "127.0.0.1",
            ["Email:Smtp:Port"] = _smtp.Port.ToString(),
            ["Logging:LogLevel:Default"] = "Information",
            ["OTEL_SERVICE_NAME"] = "api-under-test",
            ["Logging:Console:FormatterName"] = "json-trace",
        };
        _app = await TempApp.StartAsync(settings, name: "tracing");
        _client = new HttpClient { BaseAddress = _app.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _smtp.DisposeAsync();
        await _dashboard.DisposeAsync();
    }

//#if (sendsEmail)
    [Fact]
    public async Task A_sign_up_is_one_trace_from_the_request_through_the_outbox_and_the_job_to_the_smtp_send()
    {
        var traceId = await SignUpInANewTraceAsync(_client, "Ada", "ada@example.com");

        IReadOnlyList<AspireDashboard.Span> spans = [];
        // Both ends of the chain: the request's database spans were once missing altogether while the SMTP send had arrived
        // (DataExtensions.MigrateDatabaseAsync says why); waiting for the last span alone would hide which end failed.
        static bool IsOutboxInsert(AspireDashboard.Span span) => span.Scope == "OpenTelemetry.Instrumentation.EntityFrameworkCore"
            && span.Attributes.Values.Any(v => v.Contains("INSERT INTO \"welcome_email_outbox\"", StringComparison.Ordinal));
        // The attempt's span ends after the SMTP send's, so it may be exported later: waited for too.
        await Eventually.HoldsAsync(async () => (spans = await _dashboard.SpansAsync(traceId)).Any(s => s.Name == "smtp send") && spans.Any(IsOutboxInsert)
                && spans.Any(s => s.Name == "email process"),
            TimeSpan.FromSeconds(30), $"the SMTP send's span, the attempt's and the outbox insert's in trace {traceId}",
            () => $"Spans so far: {string.Join(", ", spans.Select(s => $"{s.Scope}/{s.Name}"))}\n"
                + $"Outbox inserts in any trace: {string.Join(", ", _dashboard.SpansAsync(null).GetAwaiter().GetResult().Where(IsOutboxInsert).Select(s => $"{s.TraceId}/{s.SpanId} parent {s.ParentSpanId}"))}\n"
                + $"App output:\n{_app.Output}");

        var server = Assert.Single(spans, s => s.Name == "POST /api/users");
        Assert.Equal("Microsoft.AspNetCore", server.Scope);
        // The user and its outbox row are written by the request, as its children.
        Assert.Contains(spans, s => IsOutboxInsert(s) && s.ParentSpanId == server.SpanId);
        Assert.Contains(spans, s => s.Name == "signalr broadcast UserCreated" && s.ParentSpanId == server.SpanId);
        // Then the chain the outbox row carries: dispatch -> the first attempt (sent from the outbox) -> job -> SMTP.
        var dispatch = Assert.Single(spans, s => s.Name == "WelcomeEmail dispatch");
        Assert.Equal(server.SpanId, dispatch.ParentSpanId);
        var attempt = Assert.Single(spans, s => s.Name == "email process");
        Assert.Equal(dispatch.SpanId, attempt.ParentSpanId);
        Assert.Equal("Api.Email", attempt.Scope);
        var job = Assert.Single(spans, s => s.Name == "WelcomeEmail job");
        Assert.Equal(attempt.SpanId, job.ParentSpanId);
        var smtp = Assert.Single(spans, s => s.Name == "smtp send");
        Assert.Equal(job.SpanId, smtp.ParentSpanId);
        Assert.Equal(_smtp.Port.ToString(), smtp.Attributes["server.port"]);

        // The request's log records carry the same trace id.
        IReadOnlyList<AspireDashboard.LogRecord> logs = [];
        await Eventually.HoldsAsync(async () => (logs = await _dashboard.LogsAsync(traceId)).Count > 0,
            TimeSpan.FromSeconds(15), $"log records of trace {traceId}");
        Assert.All(logs, log => Assert.Equal(traceId, log.TraceId));
        Assert.Contains(logs, log => log.SpanId == server.SpanId);

        // The console's JSON lines carry them as top-level fields too.
        Assert.Contains(TracingTests.JsonLines(_app.Output), line => line.TryGetProperty("TraceId", out var id) && id.GetString() == traceId
            && line.GetProperty("SpanId").GetString() == server.SpanId && line.GetProperty("Category").GetString()!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }
//#endif

    [Fact]
    public async Task The_trace_id_of_a_problem_response_finds_the_requests_trace_and_logs()
    {
        using var first = await _client.PostAsJsonAsync("/api/users", new { name = "Bob", email = "bob@example.com" });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var conflict = await _client.PostAsJsonAsync("/api/users", new { name = "Bob", email = "bob@example.com" });

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var problem = await conflict.ReadJsonAsync<JsonElement>();
        var traceId = problem.GetProperty("traceId").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        await Eventually.HoldsAsync(async () => (await _dashboard.SpansAsync(traceId)).Any(s => s.Name == "POST /api/users"),
            TimeSpan.FromSeconds(15), $"the 409's request span in trace {traceId}");
        await Eventually.HoldsAsync(async () => (await _dashboard.LogsAsync(traceId)).Any(l => l.Body.Contains("409", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(15), $"a log record of the 409 in trace {traceId}");
    }

    /// <summary>A sign-up (201) as the first hop of a trace the caller made (W3C traceparent, sampled): its trace id.</summary>
    internal static async Task<string> SignUpInANewTraceAsync(HttpClient client, string name, string email)
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = JsonContent.Create(new { name, email }) };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return traceId;
    }

    /// <summary>The console's JSON lines (Logging:Console:FormatterName json-trace).</summary>
    internal static List<JsonElement> JsonLines(string output) =>
        output.Split('\n').Where(line => line.StartsWith('{')).Select(line => JsonDocument.Parse(line).RootElement).ToList();
}

//#if (sendsEmail)
/// <summary>
/// The logs that explain a failed email: with the SMTP server gone, each attempt's warnings (the first attempt's, made
/// from the outbox; then the queue's, with Hangfire's retry message written after the job returned) are found by the
/// sign-up's trace id and their attempt's span, in the receiver and on the console.
/// </summary>
public sealed class JobLogTracingTests : IAsyncLifetime
{
    private AspireDashboard _dashboard = null!;
    private TempApp _app = null!;

    public async Task InitializeAsync()
    {
        _dashboard = await AspireDashboard.StartAsync();
        _app = await TempApp.StartAsync(new Dictionary<string, string?>(_dashboard.ExportSettings)
        {
            // Nothing listens there: every connection is refused, as with a mail server that is down.
            ["Email:Smtp:Host"] = "127.0.0.1",
            ["Email:Smtp:Port"] = FreePort.Next().ToString(),
            // The first attempt, then the queue's: retry 1 after 1 s, whose failure schedules retry 2.
            ["Queue:Retry:Attempts"] = "2",
            ["Queue:Retry:DelaySeconds"] = "1",
            ["Queue:SchedulePollingSeconds"] = "1",
            ["OTEL_SERVICE_NAME"] = "api-under-test",
            ["Logging:Console:FormatterName"] = "json-trace",
        }, name: "job-logs");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _dashboard.DisposeAsync();
    }

    [Fact]
    public async Task A_failed_email_attempts_warnings_carry_the_sign_ups_trace_and_the_attempts_span()
    {
        using var client = new HttpClient { BaseAddress = _app.BaseAddress };
        var traceId = await TracingTests.SignUpInANewTraceAsync(client, "Grace", "grace@example.com");

        static bool IsFirst(AspireDashboard.LogRecord log) => log.Scope == "Api.Email.WelcomeEmailDispatcher" && log.Body.Contains("failed an attempt", StringComparison.Ordinal);
        static bool IsOurs(AspireDashboard.LogRecord log) => log.Scope == "Api.Queue.QueueMetricsFilter" && log.Body.Contains("failed an attempt", StringComparison.Ordinal);
        static bool IsHangfires(AspireDashboard.LogRecord log) => log.Scope == "Hangfire.AutomaticRetryAttribute" && log.Body.Contains("Retry attempt 2 of 2", StringComparison.Ordinal);
        IReadOnlyList<AspireDashboard.LogRecord> logs = [];
        await Eventually.HoldsAsync(async () => (logs = await _dashboard.LogsAsync(traceId)).Any(IsFirst) && logs.Any(IsOurs) && logs.Any(IsHangfires),
            TimeSpan.FromSeconds(45), $"the failed attempts' warnings in trace {traceId}",
            () => $"Logs of the trace: {string.Join(" | ", logs.Select(l => $"{l.Scope}: {l.Body}"))}\nApp output:\n{_app.Output}");

        // An attempt's span ends after its state change, so it may be exported after its logs.
        var retryId = logs.First(IsHangfires).SpanId;
        IReadOnlyList<AspireDashboard.Span> spans = [];
        await Eventually.HoldsAsync(async () => (spans = await _dashboard.SpansAsync(traceId)).Any(s => s.SpanId == retryId)
                && spans.Any(s => s.Name == "email process" && s.Scope == "Api.Email"),
            TimeSpan.FromSeconds(15), $"both attempts' spans in trace {traceId}");
        var first = Assert.Single(spans, s => s.Name == "email process" && s.Scope == "Api.Email");
        var retry = Assert.Single(spans, s => s.SpanId == retryId);
        Assert.Equal(("email process", "Api.Queue"), (retry.Name, retry.Scope));
        Assert.Equal(first.SpanId, retry.ParentSpanId);
        Assert.Equal(first.SpanId, logs.First(IsFirst).SpanId);
        Assert.Contains(logs, log => IsOurs(log) && log.SpanId == retry.SpanId);

        Assert.Contains(TracingTests.JsonLines(_app.Output), line => line.GetProperty("Category").GetString() == "Hangfire.AutomaticRetryAttribute"
            && line.TryGetProperty("TraceId", out var id) && id.GetString() == traceId && line.GetProperty("SpanId").GetString() == retry.SpanId);
    }
}
//#endif
