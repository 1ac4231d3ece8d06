using System.Diagnostics.Metrics;
using Api.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Benchmarks;

/// <summary>
/// The app's own observability wiring (AddObservability / UseHttpMetrics / MapObservability: the real MeterProvider and
/// the real Prometheus exporter) on a real Kestrel at 127.0.0.1 with a free port, without the database or the users.
/// </summary>
internal sealed class InProcessApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessApi(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Metrics = app.Services.GetRequiredService<HttpMetrics>();
        MeterFactory = app.Services.GetRequiredService<IMeterFactory>();
    }

    public Uri BaseAddress { get; }

    public HttpMetrics Metrics { get; }

    public IMeterFactory MeterFactory { get; }

    public static async Task<InProcessApi> StartAsync(Action<IServiceCollection>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"],
        });
        builder.AddObservability();
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseHttpMetrics();
        app.MapObservability();
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessApi(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
