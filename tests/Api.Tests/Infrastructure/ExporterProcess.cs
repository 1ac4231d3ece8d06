namespace Api.Tests.Infrastructure;

/// <summary>
/// A Prometheus exporter from Debian's packages on 127.0.0.1 at a free port: node, PostgreSQL or Redis. Start-up waits
/// until its /metrics answers.
/// </summary>
public sealed class ExporterProcess : IAsyncDisposable
{
    private readonly NativeProcess _process;

    private ExporterProcess(NativeProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";
    public string Output => _process.Output;

    public static Task<ExporterProcess> StartNodeAsync()
    {
        var port = FreePort.Next();
        return StartAsync("prometheus-node-exporter", "prometheus-node-exporter", port,
            [$"--web.listen-address=127.0.0.1:{port}"], environment: null);
    }

    /// <param name="dataSourceName">A libpq URL, e.g. postgresql://postgres@127.0.0.1:5432/db?sslmode=disable.</param>
    public static Task<ExporterProcess> StartPostgresAsync(string dataSourceName)
    {
        var port = FreePort.Next();
        return StartAsync("prometheus-postgres-exporter", "prometheus-postgres-exporter", port,
            [$"--web.listen-address=127.0.0.1:{port}"], new Dictionary<string, string?> { ["DATA_SOURCE_NAME"] = dataSourceName });
    }

    public static Task<ExporterProcess> StartRedisAsync(int redisPort)
    {
        var port = FreePort.Next();
        // This exporter takes single-dash flags.
        return StartAsync("prometheus-redis-exporter", "prometheus-redis-exporter", port,
            [$"-redis.addr=redis://127.0.0.1:{redisPort}", $"-web.listen-address=127.0.0.1:{port}"], environment: null);
    }

    private static async Task<ExporterProcess> StartAsync(string name, string package, int port, string[] arguments,
        IReadOnlyDictionary<string, string?>? environment)
    {
        var binary = Binaries.Find(name, package, $"/usr/bin/{name}");
        var process = NativeProcess.Start(binary, arguments, environment: environment);
        return await NativeProcess.ReadyOrDisposedAsync(new ExporterProcess(process, port), process, $"http://127.0.0.1:{port}/metrics", name, TimeSpan.FromSeconds(30));
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
