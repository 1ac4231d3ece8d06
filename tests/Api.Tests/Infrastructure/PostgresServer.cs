using Npgsql;

namespace Api.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL from Debian's package, initialised into a temporary folder and listening on 127.0.0.1 at a free
/// port. One server is shared by the whole test run (start-up takes about a second); each test class takes its own
/// database from it with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);

    private readonly string _bin;
    private readonly string _folder;
    private readonly string? _runAs;
    private IReadOnlyList<int> _stopped = [];

    private PostgresServer(string bin, string folder, int port, string? runAs)
    {
        _bin = bin;
        _folder = folder;
        _runAs = runAs;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=5";

    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinFolder();
        var folder = TempFolder.Create("api-tests-postgres");
        var data = Path.Combine(folder, "data");
        // initdb refuses to run as root; Debian's package creates the postgres user for this.
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        if (runAs is not null)
        {
            await NativeProcess.RunAsync("chown", ["-R", "postgres:postgres", folder]);
        }

        await NativeProcess.RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", "postgres", "-A", "trust", "-N", "-E", "UTF8", "--locale=C"], runAs);

        var port = FreePort.Next();
        var server = new PostgresServer(bin, folder, port, runAs);
        await NativeProcess.RunAsync(Path.Combine(bin, "pg_ctl"),
        [
            "-D", data, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "30", "start",
            "-o", $"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        ], runAs);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Quit();
        return server;
    }

    /// <summary>
    /// SIGSTOP to the postmaster and every backend: open connections and new ones hang, as with a stuck server, until
    /// <see cref="Resume"/>. Only for a server of the test's own (<see cref="StartAsync"/>), never the shared one.
    /// </summary>
    public void Hang()
    {
        _stopped = Signals.WithDescendants(Postmaster());
        foreach (var pid in _stopped)
        {
            Signals.Stop(pid);
        }
    }

    /// <summary>SIGCONT to what <see cref="Hang"/> stopped.</summary>
    public void Resume()
    {
        foreach (var pid in _stopped)
        {
            try
            {
                Signals.Continue(pid);
            }
            catch (InvalidOperationException)
            {
                // The process ended meanwhile.
            }
        }

        _stopped = [];
    }

    /// <summary><c>pg_ctl stop -m immediate</c>: the server goes away as in a crash; connections are refused.</summary>
    public Task StopAsync() =>
        NativeProcess.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "stop"], _runAs);

    private int Postmaster() => int.Parse(File.ReadLines(Path.Combine(_folder, "data", "postmaster.pid")).First());

    public ValueTask DisposeAsync()
    {
        Quit();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// SIGQUIT to the postmaster: PostgreSQL's immediate shutdown, in microseconds, which matters for the shared server,
    /// stopped as the test host exits: vstest kills a host still running 100 ms after the run unless
    /// VSTEST_TESTHOST_SHUTDOWN_TIMEOUT says otherwise (test.sh does), and pg_ctl, a process to start, did not always
    /// make it, so the daemonized server outlived the run. The folder goes once the server has let go of it, if in time.
    /// </summary>
    private void Quit()
    {
        try
        {
            Resume();
            Signals.Quit(Postmaster());
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or FormatException)
        {
            // Not running: stopped already (StopAsync), or never started.
        }

        for (var waited = 0; waited < 250 && File.Exists(Path.Combine(_folder, "data", "postmaster.pid")); waited++)
        {
            Thread.Sleep(20);
        }

        TempFolder.Delete(_folder);
    }

    private static string FindBinFolder()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;
        return bin ?? Path.GetDirectoryName(Binaries.Find("initdb", "postgresql"))!;
    }
}
