using StackExchange.Redis;

namespace Api.Tests.Infrastructure;

/// <summary>
/// A real redis-server from Debian's package on 127.0.0.1 at a free port, in a temporary folder. Each caller gets its
/// own server, so a test may stop, kill or restart it (<see cref="KillAsync"/>, <see cref="RestartAsync"/>).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _binary;
    private readonly string _folder;
    private readonly bool _durable;
    private NativeProcess? _process;

    private RedisServer(string binary, string folder, int port, bool durable)
    {
        _binary = binary;
        _folder = folder;
        _durable = durable;
        Port = port;
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string that keeps retrying while the server is down.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=5000";

    public string Log => _process?.Output ?? "";

    /// <param name="durable">Append-only file on, so that data survives <see cref="KillAsync"/> and a restart.</param>
    public static async Task<RedisServer> StartAsync(bool durable = false)
    {
        var binary = Binaries.Find("redis-server", "redis-server", "/usr/bin/redis-server");
        var server = new RedisServer(binary, TempFolder.Create("api-tests-redis"), FreePort.Next(), durable);
        await server.StartProcessAsync();
        return server;
    }

    public async Task KillAsync()
    {
        _process?.Kill();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _process = null;
    }

    /// <summary>SIGSTOP: the server hangs (connections open, nothing answers) until <see cref="Resume"/>.</summary>
    public void Hang() => Signals.Stop(_process?.Id ?? throw new InvalidOperationException("redis-server is not running."));

    /// <summary>SIGCONT after <see cref="Hang"/>; harmless on a running server.</summary>
    public void Resume()
    {
        if (_process is { HasExited: false } process)
        {
            Signals.Continue(process.Id);
        }
    }

    public async Task RestartAsync()
    {
        await KillAsync();
        await StartProcessAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Resume(); // A stopped process would hold its SIGKILL until continued.
        await KillAsync();
        TempFolder.Delete(_folder);
    }

    private async Task StartProcessAsync()
    {
        _process = NativeProcess.Start(_binary,
        [
            "--bind", "127.0.0.1", "--port", Port.ToString(), "--dir", _folder, "--save", "",
            "--appendonly", _durable ? "yes" : "no", "--appendfsync", "always",
        ]);
        await Eventually.HoldsAsync(async () =>
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},connectTimeout=500");
            return (await connection.GetDatabase().PingAsync()) >= TimeSpan.Zero;
        }, TimeSpan.FromSeconds(15), $"redis-server on port {Port}", () => Log);
    }
}
