using Api;
using Api.ApiDocs;
using Api.Data;
//#if (sendsEmail)
using Api.Email;
//#endif
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
//#if (users)
using Api.Users;
//#endif

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContentRoot.Resolve(args) });

builder.AddServiceDefaults();
builder.AddSecurity();
builder.AddJwt();
builder.AddData();
//#if (users)
builder.AddUsers();
//#endif
//#if (realtime)
builder.AddRealtime();
//#endif
builder.AddQueue();
//#if (sendsEmail)
builder.AddEmail();
//#endif
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
//#if (users)
app.MapUsers();
//#endif
//#if (realtime)
app.MapRealtime();
//#endif
app.MapQueue();
app.MapApiDocs();

await app.MigrateDatabaseAsync();
return await app.RunUntilStoppedAsync();

public partial class Program;
