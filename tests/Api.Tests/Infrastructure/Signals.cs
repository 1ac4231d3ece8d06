using System.Runtime.InteropServices;

namespace Api.Tests.Infrastructure;

/// <summary>
/// SIGSTOP and SIGCONT, to make a server hang rather than die: its sockets stay open and the kernel still accepts
/// connections, but nothing answers, as with a server stuck on a full disk or a lock (a kill -9 would fail them at once). And
/// SIGQUIT, PostgreSQL's immediate shutdown, for a process that must stop a server within milliseconds.
/// </summary>
public static class Signals
{
    private const int SigQuit = 3;
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    public static void Stop(int pid) => Send(pid, SigStop);

    public static void Continue(int pid) => Send(pid, SigCont);

    public static void Quit(int pid) => Send(pid, SigQuit);

    /// <summary>SIGTERM: the polite stop a container runtime or Kubernetes sends first.</summary>
    public static void Terminate(int pid) => Send(pid, SigTerm);

    /// <summary>The process and every process below it (PostgreSQL serves each connection from a child of the postmaster).</summary>
    public static IReadOnlyList<int> WithDescendants(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(folder), out var child) && ParentOf(folder) is { } parent)
            {
                parents[child] = parent;
            }
        }

        var found = new List<int> { pid };
        for (var i = 0; i < found.Count; i++)
        {
            found.AddRange(parents.Where(p => p.Value == found[i]).Select(p => p.Key));
        }

        return found;
    }

    private static int? ParentOf(string procFolder)
    {
        try
        {
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
            var stat = File.ReadAllText(Path.Combine(procFolder, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1]);
        }
        catch (IOException)
        {
            return null; // The process ended meanwhile.
        }
    }

    private static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
