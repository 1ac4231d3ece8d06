using Microsoft.Extensions.Options;

namespace Api.Configuration;

/// <summary>
/// The one way this service reads a settings section: <c>services.AddValidatedOptions&lt;T&gt;("Section")</c>. The
/// section is bound to <typeparamref name="T"/> (lists replace the defaults in code instead of appending to them) and
/// checked, nested objects included, at start-up; every problem names the key as the user wrote it
/// (<c>Email:Smtp:Port must be between 1 and 65535, got 99999</c>). <see cref="ConfigurationErrors"/> prints them.
/// </summary>
public static class ValidatedOptions
{
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class
    {
        services.AddSingleton(new ValidatedSection(typeof(T), section));
        services.AddSingleton<IValidateOptions<T>>(provider => new SectionValidator<T>(provider.GetRequiredService<IConfiguration>().GetSection(section)));
        return services.AddOptions<T>()
            .Configure<IConfiguration>((options, configuration) => SectionBinder.Bind(configuration.GetSection(section), options))
            .ValidateOnStart();
    }

    /// <summary>
    /// The section bound as the options will be, for the few settings needed while the services are still being added
    /// (a listener URL). A value that cannot be read leaves the defaults; the start-up check reports it.
    /// </summary>
    public static T ReadValidatedOptions<T>(this IConfiguration configuration, string section) where T : class, new()
    {
        var options = new T();
        SectionBinder.Bind(configuration.GetSection(section), options);
        return options;
    }

    private sealed class SectionValidator<T>(IConfigurationSection section) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var problems = SectionBinder.Problems(section, options);
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}

/// <summary>A section registered with <see cref="ValidatedOptions.AddValidatedOptions{T}"/>, so start-up can check them all.</summary>
internal sealed record ValidatedSection(Type OptionsType, string Section);
