using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;

namespace Api.Configuration;

/// <summary>
/// Binds a section with Microsoft.Extensions.Configuration's binder after two corrections, and lists what is wrong with
/// it in words that name the key. The corrections: a value the binder cannot convert is reported instead of thrown (its
/// exception names the C# type, not the key), and a list in configuration replaces the list in code instead of being
/// appended to it (<c>Metrics:DurationBuckets:0=30</c> means exactly [30]).
/// </summary>
internal static class SectionBinder
{
    private const int MaxDepth = 8;

    public static void Bind(IConfigurationSection section, object options)
    {
        var unreadable = new List<string>();
        CheckShape(section, options.GetType(), unreadable, 0);
        if (unreadable.Count > 0)
        {
            return; // Defaults stay; Problems() reports the values, and start-up stops.
        }

        ClearConfiguredLists(section, options, 0);
        section.Bind(options);
    }

    /// <summary>Every problem of the section and the options bound from it, one sentence each, starting with the key.</summary>
    public static IReadOnlyList<string> Problems(IConfigurationSection section, object options)
    {
        var problems = new List<string>();
        CheckShape(section, options.GetType(), problems, 0);
        if (problems.Count == 0)
        {
            Validate(options, section, section.Path, problems, 0);
        }

        return problems.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Values that cannot be read as their property's type: a number that is not one, a list written as one value.</summary>
    private static void CheckShape(IConfigurationSection section, Type type, List<string> problems, int depth)
    {
        if (depth > MaxDepth)
        {
            return;
        }

        foreach (var property in Properties(type))
        {
            if (Child(section, property.Name) is not { } child)
            {
                continue;
            }

            var propertyType = property.PropertyType;
            if (IsScalar(propertyType))
            {
                CheckValue(child, propertyType, problems);
            }
            else if (ListElement(propertyType) is { } element)
            {
                // A parent key can carry an empty value next to its children (host settings do): only text counts.
                if (!string.IsNullOrEmpty(child.Value) && !child.GetChildren().Any())
                {
                    problems.Add($"{child.Path} must be a list, written {child.Path}:0, {child.Path}:1, …; got '{child.Value}'");
                    continue;
                }

                foreach (var item in child.GetChildren())
                {
                    if (IsScalar(element))
                    {
                        CheckValue(item, element, problems);
                    }
                    else
                    {
                        CheckShape(item, element, problems, depth + 1);
                    }
                }
            }
            else if (IsSection(propertyType))
            {
                if (!string.IsNullOrEmpty(child.Value) && !child.GetChildren().Any())
                {
                    problems.Add($"{child.Path} is a section of settings, not a value; got '{child.Value}'");
                    continue;
                }

                CheckShape(child, propertyType, problems, depth + 1);
            }
        }
    }

    private static void CheckValue(IConfigurationSection value, Type type, List<string> problems)
    {
        if (value.Value is null)
        {
            if (value.GetChildren().Any())
            {
                problems.Add($"{value.Path} must be a single value, not a section");
            }

            return;
        }

        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(string) || (value.Value.Length == 0 && target != type))
        {
            return; // Empty clears a nullable setting, as the binder does.
        }

        try
        {
            _ = TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value.Value);
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or NotSupportedException or OverflowException
            || exception.InnerException is FormatException or OverflowException)
        {
            problems.Add($"{value.Path} must be {Describe(target)}, got '{value.Value}'");
        }
    }

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) => "a whole number",
        _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(TimeSpan) => "a duration such as 00:00:30",
        { IsEnum: true } => "one of " + string.Join(", ", Enum.GetNames(type)),
        _ => "a " + type.Name,
    };

    /// <summary>Empties every list the section sets, so that binding fills it with exactly the configured items.</summary>
    private static void ClearConfiguredLists(IConfigurationSection section, object options, int depth)
    {
        if (depth > MaxDepth)
        {
            return;
        }

        foreach (var property in Properties(options.GetType()))
        {
            if (Child(section, property.Name) is not { } child)
            {
                continue;
            }

            if (ListElement(property.PropertyType) is { } element)
            {
                if (property.CanWrite && property.PropertyType.IsAssignableFrom(element.MakeArrayType()))
                {
                    property.SetValue(options, Array.CreateInstance(element, 0));
                }
                else if (property.GetValue(options) is IList { IsReadOnly: false, IsFixedSize: false } list)
                {
                    list.Clear();
                }
            }
            else if (IsSection(property.PropertyType) && property.GetValue(options) is { } nested)
            {
                ClearConfiguredLists(child, nested, depth + 1);
            }
        }
    }

    /// <summary>DataAnnotations on every property, nested sections and list items included, and IValidatableObject.</summary>
    private static void Validate(object options, IConfigurationSection? section, string path, List<string> problems, int depth)
    {
        if (depth > MaxDepth)
        {
            return;
        }

        var context = new ValidationContext(options);
        foreach (var property in Properties(options.GetType()))
        {
            var child = section is null ? null : Child(section, property.Name);
            var key = child?.Path ?? $"{path}:{property.Name}";
            var value = property.GetValue(options);
            context.MemberName = property.Name;
            context.DisplayName = key;
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>())
            {
                if (attribute.GetValidationResult(value, context) != ValidationResult.Success)
                {
                    problems.Add(Message(attribute, key, value, child?.Value));
                }
            }

            if (value is null || IsScalar(property.PropertyType))
            {
                continue;
            }

            if (ListElement(property.PropertyType) is { } element)
            {
                if (!IsScalar(element))
                {
                    var index = 0;
                    foreach (var item in (IEnumerable)value)
                    {
                        var itemKey = $"{key}:{index.ToString(CultureInfo.InvariantCulture)}";
                        if (item is not null)
                        {
                            Validate(item, child?.GetSection(index.ToString(CultureInfo.InvariantCulture)), itemKey, problems, depth + 1);
                        }

                        index++;
                    }
                }
            }
            else if (IsSection(property.PropertyType))
            {
                Validate(value, child, key, problems, depth + 1);
            }
        }

        if (options is IValidatableObject validatable)
        {
            context.MemberName = null;
            context.DisplayName = path;
            foreach (var result in validatable.Validate(context))
            {
                // By convention the message follows the key of the first member it names: "must be at least ...".
                var member = result.MemberNames.FirstOrDefault();
                var key = member is null ? path : (section is null ? null : Child(section, member))?.Path ?? $"{path}:{member}";
                problems.Add($"{key} {result.ErrorMessage}");
            }
        }
    }

    private static string Message(ValidationAttribute attribute, string key, object? value, string? written)
    {
        var got = written ?? Show(value);
        return attribute switch
        {
            RequiredAttribute => $"{key} is required",
            RangeAttribute range => $"{key} must be between {range.Minimum} and {range.Maximum}, got {got}",
            StringLengthAttribute length => $"{key} must be {length.MinimumLength} to {length.MaximumLength} characters long, got {got.Length}",
            MinLengthAttribute min => $"{key} must have at least {min.Length} {(value is string ? "characters" : "items")}",
            MaxLengthAttribute max => $"{key} must have at most {max.Length} {(value is string ? "characters" : "items")}",
            EmailAddressAttribute => $"{key} must be an email address, got '{got}'",
            // Any other attribute says it in its own words: its ErrorMessage, with {0} standing for the key.
            _ => attribute.FormatErrorMessage(key),
        };
    }

    private static string Show(object? value) => value switch
    {
        null => "nothing",
        string text => text,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Show)) + "]",
        _ => value.ToString() ?? "",
    };

    /// <summary>The child section for a property, found as configuration finds it (ignoring case), so its path is spelled as written.</summary>
    private static IConfigurationSection? Child(IConfigurationSection section, string name) =>
        section.GetChildren().FirstOrDefault(child => string.Equals(child.Key, name, StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<PropertyInfo> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0 && p.CanRead);

    private static bool IsScalar(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target == typeof(string) || target.IsPrimitive || target.IsEnum || target == typeof(decimal)
            || (!typeof(IEnumerable).IsAssignableFrom(target) && TypeDescriptor.GetConverter(target).CanConvertFrom(typeof(string)));
    }

    /// <summary>The element type of an array or list property; null for anything else (dictionaries included).</summary>
    private static Type? ListElement(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType && !typeof(IDictionary).IsAssignableFrom(type)
            && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>)
                || definition == typeof(ICollection<>) || definition == typeof(IEnumerable<>) || definition == typeof(IReadOnlyCollection<>)))
        {
            return type.GetGenericArguments()[0];
        }

        return null;
    }

    private static bool IsSection(Type type) =>
        type.IsClass && type != typeof(string) && !IsScalar(type) && ListElement(type) is null && !typeof(IEnumerable).IsAssignableFrom(type);
}
