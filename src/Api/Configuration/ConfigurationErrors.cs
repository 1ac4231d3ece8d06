using System.Text.RegularExpressions;

namespace Api.Configuration;

/// <summary>A condition, beyond the settings' own values, that must hold before the service starts; each problem is one line. It only looks: it takes nothing.</summary>
public interface IStartUpCheck
{
    IEnumerable<string> Problems();
}

/// <summary>
/// A bad setting stops start-up with one line per problem on standard error, naming the key, and exit code 1: our
/// sections (<see cref="ValidatedOptions"/>), the log levels (the framework's error names no key), any value the
/// configuration binder cannot convert while the app is built, and the features' <see cref="IStartUpCheck"/>s. Start-up's own
/// check (ValidateOnStart) would stop the host too, but with a stack trace and after the pipeline is built.
/// </summary>
public static partial class ConfigurationErrors
{
    /// <returns>The app, or null when it must not start (exit with code 1).</returns>
    public static WebApplication? BuildWhenConfigurationIsValid(this WebApplicationBuilder builder)
    {
        if (Report(LogLevelProblems(builder.Configuration.GetSection("Logging"))))
        {
            return null;
        }

        WebApplication app;
        try
        {
            app = builder.Build();
        }
        catch (Exception exception) when (Problems(exception) is { Count: > 0 } problems)
        {
            Report(problems);
            return null;
        }

        var found = app.Services.GetServices<ValidatedSection>().DistinctBy(s => s.OptionsType)
            .SelectMany(section => Problems(app.Services, section.OptionsType))
            .Concat(app.Services.GetServices<IStartUpCheck>().SelectMany(check => check.Problems()));
        return Report(found) ? null : app;
    }

    /// <summary>Every problem of one options type: its validation failures, or the value the binder could not convert.</summary>
    public static IReadOnlyList<string> Problems(IServiceProvider services, Type optionsType)
    {
        var options = services.GetRequiredService(typeof(IOptions<>).MakeGenericType(optionsType));
        try
        {
            _ = options.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(options);
            return [];
        }
        catch (System.Reflection.TargetInvocationException invocation) when (Problems(invocation.InnerException!) is { Count: > 0 } problems)
        {
            return problems;
        }
    }

    /// <summary>Prints each problem once; true when there was any.</summary>
    public static bool Report(IEnumerable<string> problems)
    {
        var distinct = problems.Distinct(StringComparer.Ordinal).ToList();
        foreach (var problem in distinct)
        {
            Console.Error.WriteLine(problem);
        }

        return distinct.Count > 0;
    }

    private static List<string> Problems(Exception exception) => exception switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        InvalidOperationException when Unconvertible().Match(exception.Message) is { Success: true } match =>
            [$"{match.Groups["key"].Value} must be {Describe(match.Groups["type"].Value)}, got '{match.Groups["value"].Value}'"],
        { InnerException: { } inner } => Problems(inner),
        _ => [],
    };

    // The binder's words: "Failed to convert configuration value 'abc' at 'Queue:Workers' to type 'System.Int32'."
    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'\.", RegexOptions.Singleline)]
    private static partial Regex Unconvertible();

    private static string Describe(string type) =>
        Type.GetType(type) is { } known ? TypeShape.Describe(known) : "a " + type[(type.LastIndexOf('.') + 1)..];

    /// <summary>Log levels are read while the app is built, and the framework's error names no key.</summary>
    private static IEnumerable<string> LogLevelProblems(IConfigurationSection logging) =>
        logging.AsEnumerable()
            .Where(setting => setting.Value is { Length: > 0 } value && setting.Key.Split(':') is [.., var parent, _]
                && parent.Equals("LogLevel", StringComparison.OrdinalIgnoreCase) && !Enum.TryParse<LogLevel>(value, ignoreCase: true, out _))
            .OrderBy(setting => setting.Key, StringComparer.Ordinal)
            .Select(setting => $"{setting.Key} must be one of {string.Join(", ", Enum.GetNames<LogLevel>())}, got '{setting.Value}'");
}
