// The ceiling: Kestrel, routing and the same JSON body as src/Api's GET /, with no middleware, no logging of requests,
// no metrics and no database. Whatever src/Api does on top of this shows up as the gap to it in BENCHMARKS.md.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

var description = new ServiceDescription("backend-boilerplate", "0.1.0");
app.MapGet("/", () => TypedResults.Ok(description));

await app.RunAsync();

internal sealed record ServiceDescription(string Name, string Version);
