using System.Runtime.CompilerServices;

namespace Api.Tests.Infrastructure;

/// <summary>
/// Every app a test starts, in process or as a child process, runs on its own SQLite file unless the test names a
/// PostgreSQL database. A service made with <c>dotnet new monitored-api --database postgres</c> ships
/// <c>ConnectionStrings:Postgres</c> in appsettings.json; a blank value here (an empty one would unset the variable)
/// outranks that file, and a test's own setting (a host setting, an argument, a child's environment) outranks this.
/// </summary>
internal static class TestDatabase
{
#pragma warning disable CA2255 // Set before any test's app reads its configuration; this assembly is only ever the test run.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void SqliteUnlessATestSaysOtherwise() =>
        Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", " ");
}
