using Api;
using Api.ApiDocs;
using Api.Configuration;
using Api.Data;
using Api.Email;
using Api.Errors;
using Api.Observability;
using Api.Queue;
using Api.Realtime;
using Api.ScaleOut;
using Api.Security;
using Api.Users;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContentRoot.Resolve(args) });

builder.AddErrorHandling();
builder.AddSecurity();
builder.AddObservability();
builder.AddData();
builder.AddUsers();
builder.AddRealtime();
builder.AddQueue();
builder.AddEmail();
builder.AddApiDocs();
builder.AddScaleOut();

var app = builder.Build();
if (!app.HasValidConfiguration())
{
    return 1;
}

app.UseHttpMetrics();
app.UseErrorHandling();
app.UseSecurity();

app.MapObservability();
app.MapRoot();
app.MapUsers();
app.MapRealtime();
app.MapQueue();
app.MapApiDocs();

await app.MigrateDatabaseAsync();
await app.RunAsync();
return 0;

public partial class Program;
