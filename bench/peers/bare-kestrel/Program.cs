using System.ComponentModel.DataAnnotations;
using Npgsql;

// The ceilings. GET /: Kestrel, routing and the same JSON body as src/Api's GET /, with no middleware, no logging of
// requests, no metrics and no database. With ConnectionStrings:Postgres set, also the users API as raw Npgsql: the same
// statements src/Api sends, hand-written, on the same PostgreSQL. Whatever src/Api does on top of these shows up as the
// gap to them in BENCHMARKS.md.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

var description = new ServiceDescription("backend-boilerplate", "0.1.0");
app.MapGet("/", () => TypedResults.Ok(description));

var postgres = app.Configuration.GetConnectionString("Postgres");
if (!string.IsNullOrEmpty(postgres))
{
    // The same Npgsql settings as src/Api (Data/DataExtensions.cs): no DISCARD ALL per pooled use, auto-prepared statements.
    await using var dataSource = NpgsqlDataSource.Create($"No Reset On Close=true;Max Auto Prepare=50;Auto Prepare Min Usages=2;{postgres}");
    await using (var schema = dataSource.CreateCommand(Users.Schema))
    {
        await schema.ExecuteNonQueryAsync();
    }

    app.MapGet("/api/users/{id:guid}", (Guid id) => Users.GetAsync(dataSource, id));
    app.MapGet("/api/users", (int? page, int? pageSize) => Users.ListAsync(dataSource, page ?? 1, pageSize ?? 20));
    app.MapPost("/api/users", (CreateUserRequest request) => Users.CreateAsync(dataSource, request));
    await app.RunAsync();
}
else
{
    await app.RunAsync();
}

internal static class Users
{
    // The tables of src/Api's migrations, as the Npgsql EF provider creates them.
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS users (id uuid PRIMARY KEY, name varchar(100) NOT NULL, email varchar(254) NOT NULL,
            created_at timestamptz NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS ix_users_email ON users (email);
        CREATE TABLE IF NOT EXISTS welcome_email_outbox (user_id uuid PRIMARY KEY, name varchar(100) NOT NULL,
            email varchar(254) NOT NULL, claimed_until bigint NOT NULL, claim_token uuid);
        CREATE INDEX IF NOT EXISTS ix_welcome_email_outbox_claimed_until ON welcome_email_outbox (claimed_until);
        """;

    public static async Task<IResult> GetAsync(NpgsqlDataSource dataSource, Guid id)
    {
        await using var command = dataSource.CreateCommand("SELECT id, name, email, created_at FROM users WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? TypedResults.Ok(Read(reader))
            : TypedResults.Problem(statusCode: 404, title: "User not found");
    }

    public static async Task<IResult> ListAsync(NpgsqlDataSource dataSource, int page, int pageSize)
    {
        if (page is < 1 or > 1_000_000 || pageSize is < 1 or > 100)
        {
            return TypedResults.Problem(statusCode: 400, title: "page or pageSize out of range");
        }

        // Both statements in one round trip.
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT count(*)::int FROM users"));
        var pageCommand = new NpgsqlBatchCommand("SELECT id, name, email, created_at FROM users ORDER BY id LIMIT $1 OFFSET $2");
        pageCommand.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pageSize });
        pageCommand.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (page - 1) * pageSize });
        batch.BatchCommands.Add(pageCommand);
        await using var reader = await batch.ExecuteReaderAsync();
        await reader.ReadAsync();
        var total = reader.GetInt32(0);
        await reader.NextResultAsync();
        var items = new List<UserResponse>(pageSize);
        while (await reader.ReadAsync())
        {
            items.Add(Read(reader));
        }

        return TypedResults.Ok(new PageResponse(items, page, pageSize, total));
    }

    public static async Task<IResult> CreateAsync(NpgsqlDataSource dataSource, CreateUserRequest request)
    {
        if (!Validator.TryValidateObject(request, new ValidationContext(request), null, validateAllProperties: true))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid user");
        }

        var user = new UserResponse(Guid.CreateVersion7(), request.Name.Trim(), request.Email.Trim().ToLowerInvariant(), DateTimeOffset.UtcNow);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // The user and its outbox row in one round trip, then COMMIT; a duplicate email fails on the unique index.
        await using var batch = new NpgsqlBatch(connection, transaction);
        var insertUser = new NpgsqlBatchCommand("INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, $4)");
        insertUser.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = user.Id });
        insertUser.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user.Name });
        insertUser.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user.Email });
        insertUser.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = user.CreatedAt });
        var insertOutbox = new NpgsqlBatchCommand("INSERT INTO welcome_email_outbox (user_id, name, email, claimed_until) VALUES ($1, $2, $3, 0)");
        insertOutbox.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = user.Id });
        insertOutbox.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user.Name });
        insertOutbox.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user.Email });
        batch.BatchCommands.Add(insertUser);
        batch.BatchCommands.Add(insertOutbox);
        try
        {
            await batch.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return TypedResults.Problem(statusCode: 409, title: "Email already registered");
        }

        return TypedResults.Created($"/api/users/{user.Id}", user);
    }

    private static UserResponse Read(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3));
}

internal sealed record ServiceDescription(string Name, string Version);

internal sealed record CreateUserRequest(
    [property: Required, StringLength(100, MinimumLength = 1)] string Name,
    [property: Required, EmailAddress, StringLength(254)] string Email);

internal sealed record UserResponse(Guid Id, string Name, string Email, DateTimeOffset CreatedAt);

internal sealed record PageResponse(List<UserResponse> Items, int Page, int PageSize, int Total);
