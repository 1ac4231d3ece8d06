namespace Api.Data;

/// <summary>
/// Holds <c>app.db.lock</c> next to the SQLite file for the life of the process. Two instances started from one checkout
/// would otherwise share data/app.db, and each would dispatch (and send) the welcome emails the other's users are
/// waiting for; several instances belong on PostgreSQL. The second one stops at start-up with one line saying so.
/// </summary>
internal sealed class SqliteFileLock(string databaseFile) : IDisposable
{
    private FileStream? _lock;

    /// <summary>Takes the lock for the life of the process; what stops this instance when another holds it.</summary>
    public IEnumerable<string> Hold()
    {
        var path = databaseFile + ".lock";
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix, a share lock on Windows; the OS drops it with the process.
            _lock ??= new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return [];
        }
        catch (IOException)
        {
            return [$"ConnectionStrings:{DataExtensions.SqliteConnectionName}: {databaseFile} is in use by another instance (it holds {path}); give each instance its own file, or run several on ConnectionStrings:{DataExtensions.PostgresConnectionName}"];
        }
    }

    public void Dispose() => _lock?.Dispose();
}
