namespace Api.Tests.Infrastructure;

/// <summary>
/// A real Alertmanager (Debian's <c>prometheus-alertmanager</c>) on 127.0.0.1. Its gossip port is switched off
/// (<c>--cluster.listen-address=</c>): by default it would open one on every interface.
/// </summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private readonly NativeProcess _process;
    private readonly string _dataFolder;

    private AlertmanagerServer(NativeProcess process, string dataFolder, int port)
    {
        _process = process;
        _dataFolder = dataFolder;
        Port = port;
    }

    public int Port { get; }
    public string Output => _process.Output;

    /// <summary>SIGKILL, as when its host dies: it neither leaves the cluster nor flushes its state.</summary>
    public void Kill() => _process.Kill();

    /// <param name="cluster">Gossip flags for a member of a cluster (<c>--cluster.listen-address=127.0.0.1:P</c>,
    /// <c>--cluster.peer=…</c>); by default none, and the gossip port stays closed.</param>
    /// <param name="port">The web port, for a member started again where Prometheus expects it; a free one by default.</param>
    public static async Task<AlertmanagerServer> StartAsync(string configFile, IReadOnlyList<string>? cluster = null, int? port = null)
    {
        var binary = Binaries.Find("prometheus-alertmanager", "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager");
        var data = TempFolder.Create("api-tests-alertmanager");
        port ??= FreePort.Next();
        var process = NativeProcess.Start(binary,
        [
            $"--config.file={configFile}", $"--storage.path={data}", $"--web.listen-address=127.0.0.1:{port}",
            .. cluster ?? ["--cluster.listen-address="],
        ]);
        return await NativeProcess.ReadyOrDisposedAsync(new AlertmanagerServer(process, data, port.Value), process, $"http://127.0.0.1:{port}/-/ready", "alertmanager", TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        TempFolder.Delete(_dataFolder);
    }
}
