using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Api.Tests.Infrastructure;

/// <summary>A server or tool started for a test: output captured for failure messages, killed with its children on dispose.</summary>
public sealed class NativeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NativeProcess(Process process) => _process = process;

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) { return _output.ToString(); } }
    }

    public static NativeProcess Start(string file, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, string? runAsUser = null)
    {
        var info = new ProcessStartInfo
        {
            FileName = runAsUser is null ? file : "runuser",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (runAsUser is not null)
        {
            foreach (var prefix in new[] { "-u", runAsUser, "--", file })
            {
                info.ArgumentList.Add(prefix);
            }
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var started = new NativeProcess(process);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Runs a command to completion and fails with its output when it exits non-zero.</summary>
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, string? runAsUser = null,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        await using var process = Start(file, arguments, workingDirectory, environment, runAsUser);
        using var cancellation = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await process._process.WaitForExitAsync(cancellation.Token);
        process._process.WaitForExit(); // Drains the redirected output.
        if (process._process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process._process.ExitCode}:\n{process.Output}");
        }

        return process.Output;
    }

    /// <summary>
    /// Polls <paramref name="readyUrl"/> until it answers 2xx. If the process exits first, fails at once with its
    /// output instead of waiting out the time-out.
    /// </summary>
    public async Task WaitUntilReadyAsync(string readyUrl, string what, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await UntilAsync(async () => (await http.GetAsync(readyUrl)).IsSuccessStatusCode, what, $"{what} at {readyUrl}", timeout);
    }

    /// <summary>Until <paramref name="port"/> on 127.0.0.1 accepts a connection, for a server with no HTTP endpoint to ask; fails at once if the process exits first.</summary>
    public Task WaitUntilListeningAsync(int port, string what, TimeSpan timeout) =>
        UntilAsync(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", port);
            return true;
        }, what, $"{what} on port {port}", timeout);

    private async Task UntilAsync(Func<Task<bool>> ready, string what, string awaited, TimeSpan timeout)
    {
        await Eventually.HoldsAsync(async () => HasExited || await ready(), timeout, awaited, () => Output);
        if (HasExited)
        {
            await Task.Delay(200); // Let the last lines of output arrive.
            throw new InvalidOperationException($"{what} exited during start-up:\n{Output}");
        }
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as in a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
        _process.WaitForExit(); // Drains the redirected output.
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Keep the tail: a chatty server must not grow the test's memory without bound.
            if (_output.Length > 200_000)
            {
                _output.Remove(0, 100_000);
            }

            _output.AppendLine(line);
        }
    }
}
