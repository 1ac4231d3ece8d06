using Microsoft.Extensions.Logging.Console;

namespace Api.Observability;

public static class ConsoleLogExtensions
{
    /// <summary>
    /// The console's formats: the framework's (<c>simple</c>, <c>json</c>, <c>systemd</c>) and <c>json-trace</c>
    /// (<see cref="JsonLogFormatter"/>), chosen with <c>Logging:Console:FormatterName</c>.
    /// </summary>
    public static IHostApplicationBuilder AddConsoleLogFormats(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddConsoleFormatter<JsonLogFormatter, ConsoleFormatterOptions>();
        builder.Services.AddSingleton<IStartUpCheck, ConsoleFormatterCheck>();
        return builder;
    }
}

/// <summary>An unknown formatter name would fall back to the default format without a word.</summary>
internal sealed class ConsoleFormatterCheck(IOptionsMonitor<ConsoleLoggerOptions> console, IEnumerable<ConsoleFormatter> formatters) : IStartUpCheck
{
    public IEnumerable<string> Problems()
    {
        var name = console.CurrentValue.FormatterName;
        var known = formatters.Select(formatter => formatter.Name).Order(StringComparer.Ordinal).ToList();
        return name is null || known.Contains(name, StringComparer.OrdinalIgnoreCase)
            ? []
            : [$"Logging:Console:FormatterName must be one of {string.Join(", ", known)}, got '{name}'"];
    }
}
