using System.Net;
using Api.Queue;
using Microsoft.AspNetCore.Http;

namespace Api.Tests.Queue;

public sealed class DashboardAccessTests
{
    private static bool Allows(string? configuredKey, string remoteAddress, string? presentedKey = null)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddress);
        http.Connection.LocalIpAddress = IPAddress.Parse("10.0.0.5");
        if (presentedKey is not null)
        {
            http.Request.Headers["X-API-Key"] = presentedKey;
        }

        return new DashboardAccess(configuredKey).Allows(http);
    }

    [Theory]
    [InlineData(null, "127.0.0.1", null, true)]
    [InlineData(null, "::1", null, true)]
    [InlineData(null, "10.0.0.9", null, false)]
    [InlineData(null, "10.0.0.9", "anything", false)]
    [InlineData("s3cret", "10.0.0.9", null, false)]
    [InlineData("s3cret", "10.0.0.9", "wrong", false)]
    [InlineData("s3cret", "10.0.0.9", "s3cret", true)]
    public void Only_local_requests_or_the_configured_key_open_the_dashboard(string? key, string remote, string? presented, bool allowed) =>
        Assert.Equal(allowed, Allows(key, remote, presented));
}
