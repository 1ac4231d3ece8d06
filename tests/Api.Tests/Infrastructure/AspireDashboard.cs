using System.Text.Json;
using Api.Tests.Monitoring;

namespace Api.Tests.Infrastructure;

/// <summary>
/// A real OTLP receiver: the Aspire dashboard (NuGet <c>Aspire.Dashboard.Sdk.linux-x64</c>), started on loopback with
/// anonymous access, OTLP over HTTP, and its telemetry API, which answers in OTLP JSON. The package is restored on first
/// use (tools/restore-aspire-dashboard.sh), so a fresh clone needs nothing installed by hand.
/// </summary>
public sealed class AspireDashboard : ServerProcess
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly HttpClient _http;

    private AspireDashboard(Started started, int otlpPort) : base(started)
    {
        OtlpEndpoint = new Uri($"http://127.0.0.1:{otlpPort}");
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Where an app sends OTLP/HTTP (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> with protocol http/protobuf).</summary>
    public Uri OtlpEndpoint { get; }

    /// <summary>The settings that make the app export traces, logs and metrics here, flushed every half second.</summary>
    public IReadOnlyDictionary<string, string?> ExportSettings => new Dictionary<string, string?>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = OtlpEndpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "500",
    };

    public static async Task<AspireDashboard> StartAsync()
    {
        var binary = await InstallAsync();
        var otlpPort = FreePort.Next();
        return new(await LaunchAsync("the Aspire dashboard", (_, uiPort) => NativeProcess.Start(binary, [], Path.GetDirectoryName(binary), new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{uiPort}",
            ["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{otlpPort}",
            ["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] = "true",
            ["ASPIRE_DASHBOARD_API_ENABLED"] = "true",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        }), "/api/telemetry/spans", TimeSpan.FromSeconds(60)), otlpPort);
    }

    /// <summary>The spans of one trace, from every resource and scope; with <paramref name="traceId"/> null, every span the dashboard holds.</summary>
    public async Task<IReadOnlyList<Span>> SpansAsync(string? traceId)
    {
        using var document = await GetAsync(traceId is null ? "api/telemetry/spans" : $"api/telemetry/spans?traceId={traceId}");
        return document.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray()
            .SelectMany(resource => resource.GetProperty("scopeSpans").EnumerateArray())
            .SelectMany(scope => scope.GetProperty("spans").EnumerateArray().Select(span => new Span(
                scope.GetProperty("scope").GetProperty("name").GetString()!,
                span.GetProperty("name").GetString()!,
                span.GetProperty("traceId").GetString()!,
                span.GetProperty("spanId").GetString()!,
                span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() ?? "" : "",
                Attributes(span))))
            .ToList();
    }

    /// <summary>The log records of one trace.</summary>
    public async Task<IReadOnlyList<LogRecord>> LogsAsync(string traceId)
    {
        using var document = await GetAsync($"api/telemetry/logs?traceId={traceId}");
        return document.RootElement.GetProperty("data").GetProperty("resourceLogs").EnumerateArray()
            .SelectMany(resource => resource.GetProperty("scopeLogs").EnumerateArray())
            .SelectMany(scope => scope.GetProperty("logRecords").EnumerateArray().Select(record => new LogRecord(
                scope.GetProperty("scope").GetProperty("name").GetString()!,
                record.TryGetProperty("traceId", out var trace) ? trace.GetString() ?? "" : "",
                record.TryGetProperty("spanId", out var span) ? span.GetString() ?? "" : "",
                record.TryGetProperty("body", out var body) && body.TryGetProperty("stringValue", out var text) ? text.GetString() ?? "" : "")))
            .ToList();
    }

    public override async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await base.DisposeAsync();
    }

    private async Task<JsonDocument> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The Aspire dashboard answered {(int)response.StatusCode} to {path}: {text}");
        }

        return JsonDocument.Parse(text);
    }

    private static Dictionary<string, string> Attributes(JsonElement item) =>
        item.TryGetProperty("attributes", out var attributes)
            ? attributes.EnumerateArray().ToDictionary(
                a => a.GetProperty("key").GetString()!,
                a => a.GetProperty("value").EnumerateObject().FirstOrDefault().Value.ToString())
            : [];

    /// <summary>The dashboard's executable, restored by tools/restore-aspire-dashboard.sh (the one place its version is written).</summary>
    private static async Task<string> InstallAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            var output = await NativeProcess.RunAsync("bash", [MonitoringConfig.RepositoryFile("tools/restore-aspire-dashboard.sh")], timeout: TimeSpan.FromMinutes(5));
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        }
        catch (InvalidOperationException exception)
        {
            throw new InvalidOperationException("The Aspire dashboard could not be restored from NuGet; the tests of traces and logs need it.", exception);
        }
        finally
        {
            InstallLock.Release();
        }
    }

    public sealed record Span(string Scope, string Name, string TraceId, string SpanId, string ParentSpanId, IReadOnlyDictionary<string, string> Attributes);

    public sealed record LogRecord(string Scope, string TraceId, string SpanId, string Body);
}
