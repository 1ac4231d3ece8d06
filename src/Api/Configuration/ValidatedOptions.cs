using System.Collections;

namespace Api.Configuration;

/// <summary>
/// The one way this service reads a settings section: <c>services.AddValidatedOptions&lt;T&gt;("Section")</c>, the
/// framework's <c>BindConfiguration</c> and <c>ValidateOnStart</c> with two additions. A list in configuration replaces
/// the list in code (the binder appends to it: <c>Metrics:DurationBuckets:0=30</c> means exactly [30]), and every problem
/// names the key as the user wrote it (<see cref="KeyNamingValidator{T}"/>); <see cref="ConfigurationErrors"/> prints them.
/// </summary>
public static class ValidatedOptions
{
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class
    {
        services.AddSingleton(new ValidatedSection(typeof(T), section));
        services.AddSingleton<IValidateOptions<T>>(provider => new KeyNamingValidator<T>(provider.GetRequiredService<IConfiguration>().GetSection(section)));
        return services.AddOptions<T>()
            .Configure<IConfiguration>((options, configuration) => EmptyConfiguredLists(configuration.GetSection(section), options))
            .BindConfiguration(section)
            .ValidateOnStart();
    }

    /// <summary>
    /// The section bound as the options will be, for the few settings needed while the services are still being added
    /// (a listener URL). A value that cannot be read leaves the defaults; the start-up check reports it.
    /// </summary>
    public static T ReadValidatedOptions<T>(this IConfiguration configuration, string section) where T : class, new()
    {
        var options = new T();
        try
        {
            EmptyConfiguredLists(configuration.GetSection(section), options);
            configuration.GetSection(section).Bind(options);
            return options;
        }
        catch (InvalidOperationException)
        {
            return new T();
        }
    }

    /// <summary>Top-level lists the section sets start empty, so binding leaves exactly the configured items.</summary>
    private static void EmptyConfiguredLists(IConfigurationSection section, object options)
    {
        foreach (var property in options.GetType().GetProperties().Where(p => p.CanWrite && p.PropertyType.IsArray))
        {
            if (section.GetSection(property.Name).GetChildren().Any())
            {
                property.SetValue(options, Array.CreateInstance(property.PropertyType.GetElementType()!, 0));
            }
        }

        foreach (var property in options.GetType().GetProperties().Where(p => typeof(IList).IsAssignableFrom(p.PropertyType) && !p.PropertyType.IsArray))
        {
            if (section.GetSection(property.Name).GetChildren().Any() && property.GetValue(options) is IList list)
            {
                list.Clear();
            }
        }
    }
}

/// <summary>A section registered with <see cref="ValidatedOptions.AddValidatedOptions{T}"/>, so start-up can check them all.</summary>
internal sealed record ValidatedSection(Type OptionsType, string Section);
