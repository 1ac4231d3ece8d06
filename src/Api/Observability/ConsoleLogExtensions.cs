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
        return builder;
    }
}
