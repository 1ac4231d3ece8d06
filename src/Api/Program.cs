using Api;
using Api.ApiDocs;
using Api.Configuration;
using Api.Data;
using Api.Email;
using Api.Errors;
using Api.Jwt;
using Api.Observability;
using Api.Queue;
//#if (realtime)
using Api.Realtime;
//#endif
using Api.ScaleOut;
using Api.Security;
using Api.ServiceDefaults;
using Api.Users;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContentRoot.Resolve(args) });

builder.AddServiceDefaults();
builder.AddSecurity();
builder.AddJwt();
builder.AddData();
builder.AddUsers();
//#if (realtime)
builder.AddRealtime();
//#endif
builder.AddQueue();
builder.AddEmail();
builder.AddApiDocs();
builder.AddScaleOut();

if (builder.BuildWhenConfigurationIsValid() is not { } app || !app.HoldsItsDatabaseFile())
{
    return 1;
}

// The middleware, outermost first. The HTTP metrics see the status the error handling sent; everything after routing
// knows the endpoint, so a 413 or a 429 is counted under its route.
app.UseHttpMetrics();
app.UseErrorHandling();
app.UseForwardedHeadersFromTrustedProxies();
app.UseSecurityHeaders();
app.UseMetricsPort();
app.UseHeadAsGet();
app.UseRouting();
app.UseRequestBodyLimit();
app.UseRateLimiter();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

app.MapDefaultEndpoints();
app.MapRoot();
app.MapUsers();
//#if (realtime)
app.MapRealtime();
//#endif
app.MapQueue();
app.MapApiDocs();

await app.MigrateDatabaseAsync();
return await app.RunUntilStoppedAsync();

public partial class Program;
