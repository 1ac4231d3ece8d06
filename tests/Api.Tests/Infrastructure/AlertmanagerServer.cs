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

    public static async Task<AlertmanagerServer> StartAsync(string configFile)
    {
        var binary = Binaries.Find("prometheus-alertmanager", "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager");
        var data = TempFolder.Create("api-tests-alertmanager");
        var port = FreePort.Next();
        var process = NativeProcess.Start(binary,
        [
            $"--config.file={configFile}", $"--storage.path={data}", $"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ]);
        return await NativeProcess.ReadyOrDisposedAsync(new AlertmanagerServer(process, data, port), process, $"http://127.0.0.1:{port}/-/ready", "alertmanager", TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        TempFolder.Delete(_dataFolder);
    }
}
