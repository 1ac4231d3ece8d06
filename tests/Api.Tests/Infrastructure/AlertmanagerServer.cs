namespace Api.Tests.Infrastructure;

/// <summary>
/// A real Alertmanager (Debian's <c>prometheus-alertmanager</c>) on 127.0.0.1. Its gossip port is switched off
/// (<c>--cluster.listen-address=</c>): by default it would open one on every interface.
/// </summary>
public sealed class AlertmanagerServer : ServerProcess
{
    private AlertmanagerServer(Started started) : base(started)
    {
    }

    /// <param name="cluster">Gossip flags for a member of a cluster (<c>--cluster.listen-address=127.0.0.1:P</c>,
    /// <c>--cluster.peer=…</c>); by default none, and the gossip port stays closed.</param>
    /// <param name="port">The web port, for a member started again where Prometheus expects it; a free one by default.</param>
    public static async Task<AlertmanagerServer> StartAsync(string configFile, IReadOnlyList<string>? cluster = null, int? port = null)
    {
        var binary = Binaries.Find("prometheus-alertmanager", "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager");
        return new(await LaunchAsync("alertmanager", (data, web) => NativeProcess.Start(binary,
        [
            $"--config.file={configFile}", $"--storage.path={data}", $"--web.listen-address=127.0.0.1:{web}",
            .. cluster ?? ["--cluster.listen-address="],
        ]), "/-/ready", TimeSpan.FromSeconds(30), port, dataFolder: "api-tests-alertmanager"));
    }
}
