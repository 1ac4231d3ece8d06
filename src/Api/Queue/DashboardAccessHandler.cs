using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Api.Queue;

internal sealed class DashboardAccessRequirement : IAuthorizationRequirement;

internal sealed class DashboardAccessHandler(DashboardKey key, IOptions<QueueOptions> queue) : AuthorizationHandler<DashboardAccessRequirement>
{
    private readonly bool _openToLocalRequests = queue.Value.Dashboard.AllowLocalRequestsWithoutKey;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, DashboardAccessRequirement requirement)
    {
        if (context.Resource is HttpContext http && Allows(context.User, http))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    internal bool Allows(ClaimsPrincipal user, HttpContext http) =>
        (user.Identity?.IsAuthenticated == true && key.IsConfigured && user.HasClaim(DashboardSignIn.KeyClaim, key.Fingerprint))
        || key.IsPresentedIn(http.Request.Headers)
        || (_openToLocalRequests && http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote));
}
