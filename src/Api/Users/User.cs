using System.Linq.Expressions;
using Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Api.Users;

public sealed class User
{
    public const int NameMaxLength = 100;
    public const int EmailMaxLength = 254;

    /// <summary>The unique index on <see cref="Email"/>: a sign-up with a taken address breaks it (UsersApi).</summary>
    public const string EmailIndex = "ix_users_email";

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
        user.Property(u => u.Id).ValueGeneratedNever();
        user.HasNameAndEmailColumns(u => u.Name, u => u.Email);
        user.HasIndex(u => u.Email).IsUnique().HasDatabaseName(User.EmailIndex);
    }
}

internal static class UsersTable
{
    /// <summary>
    /// The name and email columns as the users table has them. A table that keeps a copy of a user's name and email
    /// (the welcome email's outbox) declares them with this, so whatever fits a user fits the copy.
    /// </summary>
    public static void HasNameAndEmailColumns<T>(this EntityTypeBuilder<T> entity, Expression<Func<T, string>> name, Expression<Func<T, string>> email)
        where T : class
    {
        entity.Property(name).HasMaxLength(User.NameMaxLength).IsRequired();
        entity.Property(email).HasMaxLength(User.EmailMaxLength).IsRequired();
    }

    extension(AppDbContext db)
    {
        /// <summary>The users table, a member of Users' own: Data's context does not know the feature.</summary>
        public DbSet<User> Users => db.Set<User>();
    }
}
