using Api.Data;
using Api.Observability;

namespace Api.ScaleOut;

/// <summary>
/// What lets many instances run behind one load balancer and be replaced one by one without losing a request: one
/// key ring, fleet-wide rate limits, and a drain between SIGTERM and exit. See README, "Scale-out".
/// </summary>
public static class ScaleOutExtensions
{
    public static IHostApplicationBuilder AddScaleOut(this IHostApplicationBuilder builder)
    {
        var redis = builder.Configuration.GetConnectionString(DataExtensions.RedisConnectionName);
        var shared = !string.IsNullOrWhiteSpace(redis);
        if (shared)
        {
            builder.Services.AddSingleton(_ => FleetRedis.Connect(redis!));
        }

        builder.AddSharedKeyRing(shared);
        builder.Services.AddSingleton(services => new FleetRateLimits(
            services.GetRequiredService<ILogger<FleetRateLimits>>(), TimeProvider.System, services.GetService<FleetRedis>()));

        builder.Services.AddValidatedOptions<ShutdownOptions>(ShutdownOptions.Section);
        builder.Services.AddSingleton<DrainedConnections>();
        builder.Services.AddSingleton<Drain>();
        builder.Services.AddSingleton<IHostLifetime, DrainingLifetime>();
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(shutdown.Value.GraceSeconds));
        builder.Services.AddReadinessCheck<DrainHealthCheck>("drain");
        return builder;
    }

    /// <summary>
    /// Runs the host until it stops; the exit code is 0, or 1 when the stop outlasted <c>Shutdown:GraceSeconds</c>.
    /// Hangfire's server answers that timeout by throwing from StopAsync, which unhandled would end the process in an
    /// abort (exit 134, a stack trace that reads like a crash): the jobs it was still running go back to the queue either
    /// way, after their invisibility timeout, and an on-call reads one line instead.
    /// </summary>
    public static async Task<int> RunUntilStoppedAsync(this WebApplication app)
    {
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
        {
            var grace = app.Services.GetRequiredService<IOptions<ShutdownOptions>>().Value.GraceSeconds;
            app.Logger.LogError("The host did not stop within Shutdown:GraceSeconds ({GraceSeconds} s); jobs still running return to the queue", grace);
            return 1;
        }
    }
}
