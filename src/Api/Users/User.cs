using Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Api.Users;

public sealed class User
{
    public const int NameMaxLength = 100;
    public const int EmailMaxLength = 254;

    /// <summary>A version 7 GUID made by the service: time-ordered, so paging by id is paging by creation.</summary>
    public Guid Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Trimmed and lower-cased, so that the unique index also catches differences of case.</summary>
    public required string Email { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> user)
    {
        user.ToTable("users");
        user.HasKey(u => u.Id);
        user.Property(u => u.Id).HasColumnName("id").ValueGeneratedNever();
        user.Property(u => u.Name).HasColumnName("name").HasMaxLength(User.NameMaxLength).IsRequired();
        user.Property(u => u.Email).HasColumnName("email").HasMaxLength(User.EmailMaxLength).IsRequired();
        user.Property(u => u.CreatedAt).HasColumnName("created_at");
        user.HasIndex(u => u.Email).IsUnique().HasDatabaseName("ix_users_email");
    }
}

internal static class UsersTable
{
    extension(AppDbContext db)
    {
        /// <summary>The users table, a member of Users' own: Data's context does not know the feature.</summary>
        public DbSet<User> Users => db.Set<User>();
    }
}
