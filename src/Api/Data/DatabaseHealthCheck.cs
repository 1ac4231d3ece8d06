using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace Api.Data;

/// <summary>
/// Whether the database answers. The probe runs on a context of its own, so that when the check's timeout
/// (Health:CheckTimeoutMilliseconds) fires the check answers at once and the probe is left to end by itself, within
/// Data:CommandTimeoutSeconds: a connection still opening to a hung server cannot be closed under it, so it must not
/// belong to the check's scope, whose disposal would wait on it or fail.
/// </summary>
internal sealed class DatabaseHealthCheck(DbContextOptions<AppDbContext> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await ProbeAsync(cancellationToken).WaitAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : new HealthCheckResult(context.Registration.FailureStatus, "The database does not answer.");

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var db = new AppDbContext(options);
            return await db.Database.CanConnectAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is DbException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }
    }
}
