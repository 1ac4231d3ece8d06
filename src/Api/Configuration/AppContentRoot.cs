namespace Api.Configuration;

public static class AppContentRoot
{
    /// <summary>
    /// The content root (where appsettings.json is read and data/ is written) for a start that names none: the working
    /// directory when it holds appsettings.json (<c>dotnet run</c>, the container), otherwise the folder of Api.dll, so
    /// that <c>dotnet path/to/Api.dll</c> run from elsewhere still reads its settings (log levels included).
    /// </summary>
    public static string? Resolve(string[] args)
    {
        var named = args.Any(arg => arg.Contains("contentRoot", StringComparison.OrdinalIgnoreCase))
            || Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT") is not null
            || Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT") is not null;
        return named || File.Exists(Path.Combine(Environment.CurrentDirectory, "appsettings.json")) ? null : AppContext.BaseDirectory;
    }
}
