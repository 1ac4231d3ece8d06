using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;

namespace Api.Configuration;

/// <summary>
/// The DataAnnotations of a section's options, nested sections and list items included, and IValidatableObject, as one
/// sentence per problem that starts with the key as the user spelled it (<c>Email:SMTP:port must be between 1 and
/// 65535, got 0</c>). The framework's own validation names the C# member (<c>The field Port must be …</c>). Also what
/// the binder passes over in silence: a single value where a section or a list belongs.
/// </summary>
internal sealed class KeyNamingValidator<T>(IConfigurationSection section) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var problems = new List<string>();
        Validate(options, section, section.Path, problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Distinct(StringComparer.Ordinal));
    }

    private static void Validate(object options, IConfigurationSection? section, string path, List<string> problems)
    {
        var context = new ValidationContext(options);
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            var child = section?.GetChildren().FirstOrDefault(c => string.Equals(c.Key, property.Name, StringComparison.OrdinalIgnoreCase));
            var key = child?.Path ?? $"{path}:{property.Name}";
            var value = property.GetValue(options);
            if (child is { Value: { Length: > 0 } written } && !child.GetChildren().Any() && IsListOrSection(property.PropertyType))
            {
                problems.Add(property.PropertyType.IsArray || typeof(IList).IsAssignableFrom(property.PropertyType)
                    ? $"{key} must be a list, written {key}:0, {key}:1, …; got '{written}'"
                    : $"{key} is a section of settings, not a value; got '{written}'");
                continue;
            }

            // The binder skips a list item it cannot convert, without a word, when the list started empty.
            var unreadable = child is null || !IsListOrSection(property.PropertyType) || !property.PropertyType.GetElementTypeOrArgument().IsScalar() ? []
                : child.GetChildren().Where(item => item.Value is { } text && !Converts(text, property.PropertyType.GetElementTypeOrArgument()))
                    .Select(item => $"{item.Path} must be {TypeShape.Describe(property.PropertyType.GetElementTypeOrArgument())}, got '{item.Value}'").ToList();
            if (unreadable.Count > 0)
            {
                problems.AddRange(unreadable);
                continue;
            }

            context.MemberName = property.Name;
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>().Where(a => a.GetValidationResult(value, context) != ValidationResult.Success))
            {
                problems.Add(Message(attribute, key, value, child?.Value));
            }

            if (value is IList items && !property.PropertyType.GetElementTypeOrArgument().IsScalar())
            {
                for (var index = 0; index < items.Count; index++)
                {
                    var item = index.ToString(CultureInfo.InvariantCulture);
                    Validate(items[index]!, child?.GetSection(item), $"{key}:{item}", problems);
                }
            }
            else if (value is not null && IsListOrSection(property.PropertyType) && value is not IEnumerable)
            {
                Validate(value, child, key, problems);
            }
        }

        if (options is IValidatableObject validatable)
        {
            // By convention the message follows the key of the first member it names: "must be at least ...".
            foreach (var result in validatable.Validate(new ValidationContext(options)))
            {
                var member = result.MemberNames.FirstOrDefault();
                var key = member is null ? path : section?.GetChildren().FirstOrDefault(c => string.Equals(c.Key, member, StringComparison.OrdinalIgnoreCase))?.Path ?? $"{path}:{member}";
                problems.Add($"{key} {result.ErrorMessage}");
            }
        }
    }

    private static string Message(ValidationAttribute attribute, string key, object? value, string? written)
    {
        var got = written ?? (value is IFormattable formattable ? formattable.ToString(null, CultureInfo.InvariantCulture) : value?.ToString() ?? "nothing");
        return attribute switch
        {
            RequiredAttribute => $"{key} is required",
            RangeAttribute range => $"{key} must be between {Show(range.Minimum)} and {Show(range.Maximum)}, got {got}",
            MinLengthAttribute min => $"{key} must have at least {min.Length} {(value is string ? "characters" : "items")}",
            EmailAddressAttribute => $"{key} must be an email address, got '{got}'",
            // Any other attribute says it in its own words: its ErrorMessage, with {0} standing for the key.
            _ => attribute.FormatErrorMessage(key),
        };
    }

    // A duration bound as written in the attribute (00:00:00.100), not as TimeSpan prints it (00:00:00.1000000).
    private static object Show(object bound) => bound is TimeSpan span
        ? span.ToString(span.Milliseconds > 0 ? @"hh\:mm\:ss\.fff" : @"hh\:mm\:ss", CultureInfo.InvariantCulture)
        : bound;

    private static bool Converts(string text, Type type)
    {
        try
        {
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text);
            return true;
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            return false;
        }
    }

    private static bool IsListOrSection(Type type) => type != typeof(string) && (type.IsClass || type.IsInterface) && !type.IsScalar();
}

internal static class TypeShape
{
    /// <summary>A type configuration holds as one value: text, a number, a flag, a duration.</summary>
    public static bool IsScalar(this Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target == typeof(string) || target.IsPrimitive || target.IsEnum || target == typeof(decimal) || target == typeof(TimeSpan) || target == typeof(Uri);
    }

    /// <summary>What a value of the type looks like, for a message: "a whole number", "a duration such as 00:00:30".</summary>
    public static string Describe(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) => "a whole number",
        var t when t == typeof(double) || t == typeof(float) || t == typeof(decimal) => "a number",
        var t when t == typeof(bool) => "true or false",
        var t when t == typeof(TimeSpan) => "a duration such as 00:00:30",
        var t => "a " + t.Name,
    };

    public static Type GetElementTypeOrArgument(this Type type) =>
        type.IsArray ? type.GetElementType()! : type.IsGenericType ? type.GetGenericArguments()[0] : typeof(object);
}
