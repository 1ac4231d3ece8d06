using System.Reflection;
using System.Text.RegularExpressions;
using Api.Tests.Monitoring;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Api.Tests.Architecture;

/// <summary>
/// Test classes run in parallel, so a class that hosts the app in the test process must join the InProcessApp collection
/// (see there for why); this fails, naming the class, when a new one does not.
/// </summary>
public sealed partial class InProcessCollectionTests
{
    [Fact]
    public void Every_test_class_that_hosts_the_app_in_process_is_in_the_InProcessApp_collection()
    {
        var sources = Directory.EnumerateFiles(MonitoringConfig.RepositoryFile("tests/Api.Tests"), "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .ToList();
        var testClasses = typeof(InProcessApp).Assembly.GetTypes()
            .Where(type => type is { IsClass: true, IsAbstract: false } && type.GetMethods().Any(m => m.GetCustomAttributes<FactAttribute>().Any()));

        var outside = testClasses
            .Where(type => type != typeof(InProcessCollectionTests) && !InCollection(type) && (TakesAnInProcessHost(type) || sources.Any(source => DeclaresAndHosts(source, type.Name))))
            .Select(type => type.FullName)
            .ToList();

        Assert.True(outside.Count == 0, $"Add [Collection(InProcessApp.Name)] to: {string.Join(", ", outside)}");
    }

    private static bool InCollection(Type type) => type.CustomAttributes.Any(a =>
        a.AttributeType == typeof(CollectionAttribute) && Equals(a.ConstructorArguments[0].Value, InProcessApp.Name));

    private static bool IsHost(Type type) =>
        typeof(WebApplicationFactory<Program>).IsAssignableFrom(type)
        || type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Any(f => typeof(WebApplicationFactory<Program>).IsAssignableFrom(f.FieldType));

    private static bool TakesAnInProcessHost(Type type) =>
        type.GetConstructors().SelectMany(c => c.GetParameters()).Any(p => IsHost(p.ParameterType));

    // A file that declares the class and names the factory anywhere (a fixture, a `new ApiFactory(...)` in a test).
    private static bool DeclaresAndHosts(string source, string className) =>
        Regex.IsMatch(source, $@"\bclass {className}\b") && FactoryName().IsMatch(source);

    [GeneratedRegex(@"\b(ApiFactory|WebApplicationFactory)\b")]
    private static partial Regex FactoryName();
}
