using Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Api.Users;

/// <summary>
/// The users API's queries, compiled once: a request skips EF Core's query cache lookup (hashing the expression tree)
/// and goes straight to its SQL. One instance per app (a singleton), not static fields: a compiled query keeps the
/// executor of the first database provider it ran on, and a test process hosts apps on SQLite and PostgreSQL at once.
/// </summary>
internal sealed class UserQueries
{
    public readonly Func<AppDbContext, Guid, CancellationToken, Task<User?>> UserById =
        EF.CompileAsyncQuery((AppDbContext db, Guid id, CancellationToken _) => db.Set<User>().AsNoTracking().FirstOrDefault(u => u.Id == id));

    public readonly Func<AppDbContext, CancellationToken, Task<int>> UserCount =
        EF.CompileAsyncQuery((AppDbContext db, CancellationToken _) => db.Set<User>().Count());

    public readonly Func<AppDbContext, int, int, IAsyncEnumerable<UserResponse>> UsersPage =
        EF.CompileAsyncQuery((AppDbContext db, int skip, int take) => db.Set<User>().AsNoTracking()
            .OrderBy(u => u.Id)
            .Skip(skip)
            .Take(take)
            .Select(u => new UserResponse(u.Id, u.Name, u.Email, u.CreatedAt)));

    // The cursor's own row and the ones after it: one range scan of the primary key, as cheap at any depth. The cursor's
    // row coming first is how the endpoint knows the cursor is a user's id, without a second query.
    public readonly Func<AppDbContext, Guid, int, IAsyncEnumerable<UserResponse>> UsersFrom =
        EF.CompileAsyncQuery((AppDbContext db, Guid from, int take) => db.Set<User>().AsNoTracking()
            .Where(u => u.Id.CompareTo(from) >= 0)
            .OrderBy(u => u.Id)
            .Take(take)
            .Select(u => new UserResponse(u.Id, u.Name, u.Email, u.CreatedAt)));
}
