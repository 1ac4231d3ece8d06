namespace Api.Tests.Infrastructure;

public static class TempFolder
{
    public static string Create(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A folder deleted when the scope ends: <c>using var scope = TempFolder.Scoped("name");</c>, then <c>scope.Path</c>.</summary>
    public static Scope Scoped(string prefix) => new(Create(prefix));

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A server may still be letting go of a file; the OS cleans /tmp eventually.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public sealed class Scope(string path) : IDisposable
    {
        public string Path => path;

        public void Dispose() => Delete(path);
    }
}
