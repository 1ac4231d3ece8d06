using System.Net;
using Api.Security;
using Hangfire.Dashboard;

namespace Api.Queue;

/// <summary>
/// Who may open the Hangfire dashboard (it can delete and requeue jobs): requests from this machine, or requests that
/// carry the dashboard key (or, when none is set, the metrics key) as <c>Authorization: Bearer KEY</c> or
/// <c>X-API-Key: KEY</c>. With no key configured, remote requests are refused.
/// </summary>
internal sealed class DashboardAccess(string? apiKey) : IDashboardAuthorizationFilter
{
    private readonly ApiKeyGuard? _guard = string.IsNullOrEmpty(apiKey) ? null : new ApiKeyGuard(apiKey, "dashboard");

    public bool Authorize(DashboardContext context) => Allows(context.GetHttpContext());

    internal bool Allows(HttpContext http) =>
        IsLocal(http.Connection) || (_guard is not null && _guard.IsAuthorized(http.Request.Headers));

    private static bool IsLocal(ConnectionInfo connection) =>
        connection.RemoteIpAddress is { } remote
        && IPAddress.IsLoopback(remote);
}
