using System.Reflection;
using Microsoft.Extensions.Options;

namespace Api.Configuration;

/// <summary>A condition, beyond the settings' own values, that must hold before the service starts; each problem is one line.</summary>
public interface IStartUpCheck
{
    IEnumerable<string> Problems();
}

public static class ConfigurationErrors
{
    /// <summary>
    /// Reads every section registered with <see cref="ValidatedOptions.AddValidatedOptions{T}"/> before anything else
    /// does, and prints each problem as one line on standard error: a person fixes the key it names. Start-up's own
    /// check (ValidateOnStart) would stop the host too, but with a stack trace and after the pipeline is built.
    /// </summary>
    /// <returns>false when the service must not start; exit with code 1.</returns>
    public static bool HasValidConfiguration(this IHost app)
    {
        var problems = new List<string>();
        foreach (var section in app.Services.GetServices<ValidatedSection>().DistinctBy(s => s.OptionsType))
        {
            var options = app.Services.GetRequiredService(typeof(IOptions<>).MakeGenericType(section.OptionsType));
            try
            {
                _ = options.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(options);
            }
            catch (TargetInvocationException exception) when (exception.InnerException is OptionsValidationException invalid)
            {
                problems.AddRange(invalid.Failures);
            }
        }

        foreach (var check in app.Services.GetServices<IStartUpCheck>())
        {
            problems.AddRange(check.Problems());
        }

        foreach (var problem in problems.Distinct(StringComparer.Ordinal))
        {
            Console.Error.WriteLine(problem);
        }

        return problems.Count == 0;
    }
}
