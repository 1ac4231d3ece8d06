namespace Api.Tests.Infrastructure;

/// <summary>Finds the binaries of Debian packages the tests run; a missing one fails with the command that installs it.</summary>
public static class Binaries
{
    public static string Find(string name, string debianPackage, params string[] candidates)
    {
        foreach (var candidate in candidates.Append(name))
        {
            var found = Path.IsPathRooted(candidate) ? (File.Exists(candidate) ? candidate : null) : OnPath(candidate);
            if (found is not null)
            {
                return found;
            }
        }

        throw new InvalidOperationException(
            $"'{name}' was not found. Install it with: apt-get install -y --no-install-recommends {debianPackage} (./test.sh does this).");
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
