using Api.Data;
using Api.Users;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Api.Tests.Data;

/// <summary>One migration set serves both providers: it applies on each, and the model has no change it lacks.</summary>
public sealed class MigrationsTests
{
    [Fact]
    public async Task Migrations_apply_on_sqlite_and_match_the_model()
    {
        using var folderScope = TempFolder.Scoped("api-tests-migrations");
        var folder = folderScope.Path;
        var options = new DbContextOptionsBuilder<AppDbContext>().UseSqlite($"Data Source={Path.Combine(folder, "m.db")};Pooling=false").Options;
        await using var db = new AppDbContext(options);

        await db.Database.MigrateAsync();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.False(db.Database.HasPendingModelChanges(), "The model has changes no migration captures: run dotnet ef migrations add.");
        Assert.Equal(0, await db.Users.CountAsync());
    }

    [Fact]
    public async Task Migrations_apply_on_postgres_with_native_column_types()
    {
        var server = await PostgresServer.SharedAsync();
        var connectionString = await server.CreateDatabaseAsync("migrations");
        var options = new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(connectionString).Options;
        await using var db = new AppDbContext(options);

        await db.Database.MigrateAsync();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.False(db.Database.HasPendingModelChanges(), "The model has changes no migration captures: run dotnet ef migrations add.");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT column_name || ':' || data_type FROM information_schema.columns WHERE table_name = 'users' ORDER BY column_name", connection);
        var columns = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add(reader.GetString(0));
            }
        }

        Assert.Equal(["created_at:timestamp with time zone", "email:character varying", "id:uuid", "name:character varying"], columns);

        // Every table, a feature's new one too: each column has the type PostgreSQL's model gives it, not a SQLite
        // type a migration kept (type: "TEXT" on a Guid makes a text column; tools/add-migration.sh removes them).
        var expected = db.Model.GetEntityTypes().SelectMany(entity => entity.GetProperties().Select(property =>
            $"{entity.GetTableName()}.{property.GetColumnName()}:{property.GetColumnType().Split('(')[0]}")).Order().ToList();
        await using var all = new NpgsqlCommand(
            "SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns " +
            "WHERE table_schema = 'public' AND table_name <> '__EFMigrationsHistory' AND table_name <> '__EFMigrationsLock'", connection);
        var actual = new List<string>();
        await using (var reader = await all.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                actual.Add(reader.GetString(0));
            }
        }

        Assert.Equal(expected, actual.Order().ToList());
    }
}
