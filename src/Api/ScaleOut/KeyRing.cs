using Api.Data;
using Api.Observability;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Api.ScaleOut;

/// <summary>
/// One Data Protection key ring for every instance, so that what one instance protects (the dashboard's session
/// cookie, antiforgery tokens) every other can read, before and after a redeploy. Kept in Redis when
/// <c>ConnectionStrings:Redis</c> is set, else in the database (table <c>data_protection_keys</c>), else, with an
/// in-memory database only, in the local folder ASP.NET Core picks, with a warning. The application name is fixed:
/// by default it is the content root path, which differs between hosts and releases and would split the ring.
/// </summary>
internal static class KeyRing
{
    public const string RedisKey = "Api:DataProtection-Keys";

    public static void AddSharedKeyRing(this IHostApplicationBuilder builder, bool redis)
    {
        builder.Services.AddValidatedOptions<KeyRingOptions>(KeyRingOptions.Section);
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName(ServiceInfo.Name);
        if (builder.Configuration.ReadValidatedOptions<KeyRingOptions>(KeyRingOptions.Section).LoadCertificate() is { HasPrivateKey: true } certificate)
        {
            dataProtection.ProtectKeysWithCertificate(certificate);
        }

        if (redis)
        {
            builder.Services.AddOptions<KeyManagementOptions>().Configure<FleetRedis>((keys, fleet) =>
                keys.XmlRepository = new RedisXmlRepository(() => fleet.Connection.GetDatabase(), RedisKey));
        }
        else if (DataExtensions.IsPersistent(builder.Configuration, builder.Environment))
        {
            dataProtection.PersistKeysToDbContext<AppDbContext>();
        }
        else
        {
            builder.Services.AddHostedService<LocalKeyRingWarning>();
        }
    }
}

/// <summary>The keys' table, named as the other tables are.</summary>
internal sealed class DataProtectionKeyConfiguration : IEntityTypeConfiguration<DataProtectionKey>
{
    public void Configure(EntityTypeBuilder<DataProtectionKey> key)
    {
        key.ToTable("data_protection_keys");
        key.HasKey(k => k.Id).HasName("PK_data_protection_keys");
    }
}

internal sealed partial class LocalKeyRingWarning(IOptions<KeyManagementOptions> keys, ILogger<LocalKeyRingWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (keys.Value.XmlRepository is null)
        {
            LogLocal();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Data Protection keys are kept in this instance's home folder: dashboard sign-ins and antiforgery tokens fail on other instances and after a redeploy; set ConnectionStrings:Redis or use a database file to share them")]
    private partial void LogLocal();
}
