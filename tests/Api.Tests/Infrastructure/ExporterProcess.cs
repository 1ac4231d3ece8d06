namespace Api.Tests.Infrastructure;

/// <summary>
/// A Prometheus exporter from Debian's packages on 127.0.0.1 at a free port: node, PostgreSQL or Redis. Start-up waits
/// until its /metrics answers.
/// </summary>
public sealed class ExporterProcess : ServerProcess
{
    private ExporterProcess(Started started) : base(started)
    {
    }

    public string Address => $"127.0.0.1:{Port}";

    public static Task<ExporterProcess> StartNodeAsync() =>
        StartAsync("prometheus-node-exporter", port => [$"--web.listen-address=127.0.0.1:{port}"], environment: null);

    /// <param name="dataSourceName">A libpq URL, e.g. postgresql://postgres@127.0.0.1:5432/db?sslmode=disable.</param>
    public static Task<ExporterProcess> StartPostgresAsync(string dataSourceName) =>
        StartAsync("prometheus-postgres-exporter", port => [$"--web.listen-address=127.0.0.1:{port}"],
            new Dictionary<string, string?> { ["DATA_SOURCE_NAME"] = dataSourceName });

    // This exporter takes single-dash flags.
    public static Task<ExporterProcess> StartRedisAsync(int redisPort) =>
        StartAsync("prometheus-redis-exporter", port => [$"-redis.addr=redis://127.0.0.1:{redisPort}", $"-web.listen-address=127.0.0.1:{port}"], environment: null);

    /// <param name="name">The binary, named as its Debian package is.</param>
    private static async Task<ExporterProcess> StartAsync(string name, Func<int, string[]> arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var binary = Binaries.Find(name, name, $"/usr/bin/{name}");
        return new(await LaunchAsync(name, (_, port) => NativeProcess.Start(binary, arguments(port), environment: environment),
            "/metrics", TimeSpan.FromSeconds(30)));
    }
}
