namespace Api.Tests.Infrastructure;

/// <summary>
/// What every server a test starts as a process has in common (the app, Prometheus, Alertmanager, VictoriaMetrics,
/// haproxy, the exporters): a port on 127.0.0.1, its output for failure messages, a data folder of its own where it
/// needs one, a start that waits until it is ready, and a dispose that stops it and deletes the folder.
/// </summary>
public abstract class ServerProcess : IAsyncDisposable
{
    private readonly string? _dataFolder;

    protected ServerProcess(Started started)
    {
        Process = started.Process;
        Port = started.Port;
        _dataFolder = started.DataFolder;
    }

    public int Port { get; }
    public string Output => Process.Output;
    public int Id => Process.Id;
    public bool HasExited => Process.HasExited;

    protected NativeProcess Process { get; }

    /// <summary>SIGKILL, as when its host dies or the OOM killer strikes: no shutdown hooks run, nothing is flushed.</summary>
    public void Kill() => Process.Kill();

    public virtual async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        if (_dataFolder is not null)
        {
            TempFolder.Delete(_dataFolder);
        }
    }

    /// <summary>A process that is ready, with its port and data folder, for the constructor of the server that owns it.</summary>
    protected sealed record Started(NativeProcess Process, int Port, string? DataFolder);

    /// <summary>
    /// Starts <paramref name="start"/> (given the data folder, when <paramref name="dataFolder"/> names one, and the port)
    /// on <paramref name="port"/>, a free one by default, and waits until <paramref name="readyPath"/> answers 2xx or,
    /// without one, until the port accepts a connection. A start that fails leaves no process and no folder behind.
    /// </summary>
    protected static async Task<Started> LaunchAsync(string what, Func<string, int, NativeProcess> start, string? readyPath, TimeSpan timeout,
        int? port = null, string? dataFolder = null)
    {
        var chosen = port ?? FreePort.Next();
        var folder = dataFolder is null ? null : TempFolder.Create(dataFolder);
        NativeProcess? process = null;
        try
        {
            process = start(folder ?? "", chosen);
            await (readyPath is null
                ? process.WaitUntilListeningAsync(chosen, what, timeout)
                : process.WaitUntilReadyAsync($"http://127.0.0.1:{chosen}{readyPath}", what, timeout));
            return new Started(process, chosen, folder);
        }
        catch
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }

            if (folder is not null)
            {
                TempFolder.Delete(folder);
            }

            throw;
        }
    }
}
