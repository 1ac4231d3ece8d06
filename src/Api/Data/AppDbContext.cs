using Microsoft.EntityFrameworkCore;

namespace Api.Data;

/// <summary>
/// The one database context. It names no feature's entities: each feature brings its own IEntityTypeConfiguration
/// (Users' table, Email's outbox), found in the assembly, so Data depends on no feature.
/// </summary>
public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AppDbContext).Assembly);
}
