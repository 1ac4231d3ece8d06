using System.Reflection;

namespace Api.Observability;

/// <summary>The name and version the service reports on <c>GET /</c> and in its telemetry resource.</summary>
public static class ServiceInfo
{
    public const string Name = "backend-boilerplate";

    public static string Version { get; } =
        typeof(ServiceInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";
}
