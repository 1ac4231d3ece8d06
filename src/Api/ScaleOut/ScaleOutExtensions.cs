using Api.Configuration;
using Api.Data;

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
        return builder;
    }
}
