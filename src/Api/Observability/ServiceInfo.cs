using System.Reflection;

namespace Api.Observability;

/// <summary>The name and version the service reports on <c>GET /</c> and in its telemetry resource.</summary>
public static class ServiceInfo
{
    public const string Name = "backend-boilerplate";

    /// <summary>Every meter and ActivitySource of our own features is named <c>Api.Something</c>: the exporters subscribe to this.</summary>
    public const string OwnTelemetry = "Api.*";

    public static string Version { get; } =
        typeof(ServiceInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";
}
