using Api;
using Api.Data;
using Api.Errors;
using Api.Observability;
using Api.Users;

var builder = WebApplication.CreateBuilder(args);

builder.AddErrorHandling();
builder.AddObservability();
builder.AddData();
builder.AddUsers();

var app = builder.Build();

app.UseErrorHandling();
app.UseHttpMetrics();

app.MapObservability();
app.MapRoot();
app.MapUsers();

await app.MigrateDatabaseAsync();
await app.RunAsync();

public partial class Program;
