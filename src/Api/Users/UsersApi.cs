using System.ComponentModel;
using Api.Data;
using Api.Jwt;
using Api.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.OpenApi;

namespace Api.Users;

public static class UsersApi
{
    public const int MaxPageSize = 100;
    private const string CollectionPath = "/api/users";

    public static IHostApplicationBuilder AddUsers(this IHostApplicationBuilder builder)
    {
        // Source-generated validation of the DataAnnotations on request types and parameters (.NET 10).
        builder.Services.AddValidation();
        builder.Services.AddValidatedOptions<UsersOptions>(UsersOptions.Section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<UserQueries>();
        builder.Services.AddSingleton<UserTotal>();
        return builder;
    }

    public static IEndpointRouteBuilder MapUsers(this IEndpointRouteBuilder endpoints)
    {
        // The group stops at /api so that every route template (the metrics' route label) reads exactly as requested;
        // a group at /api/users would make the collection's template "/api/users/".
        var api = endpoints.MapGroup("/api").WithTags("Users")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge); // Api:MaxRequestBodyBytes applies to every request
        // The problem responses are declared for the OpenAPI document (every status each operation can answer, ApiDocsTests
        // holds the list); the typed results declare the successes. 503: the database did not answer within
        // Data:CommandTimeoutSeconds (Data/DatabaseUnavailableExceptionHandler.cs).
        api.MapPost("/users", CreateAsync)
            .WithName("CreateUser").WithSummary("Create a user and queue their welcome email")
            .RequireRateLimiting(SecurityExtensions.SignUpPolicy) // each sign-up mails a caller-chosen address
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // Reading users (names, emails) is behind a token once Authentication:Jwt is configured; signing up stays open.
        api.MapGet("/users/{id:guid}", GetAsync)
            .WithName("GetUser").WithSummary("Get a user by id")
            .RequireAuthorization(JwtExtensions.ApiPolicy)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/users", ListAsync)
            .WithName("ListUsers").WithSummary("List users, a page at a time")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                if (operation.Responses?.GetValueOrDefault("200") is OpenApiResponse ok)
                {
                    ok.Headers ??= new Dictionary<string, IOpenApiHeader>();
                    ok.Headers["Link"] = new OpenApiHeader
                    {
                        Description = "RFC 8288: `<next>; rel=\"next\"`, the body's next link, relative; absent on the last page.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                    };
                }

                return Task.CompletedTask;
            })
            .RequireAuthorization(JwtExtensions.ApiPolicy)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    internal static async Task<Results<Created<UserResponse>, ProblemHttpResult>> CreateAsync(
        CreateUserRequest request,
        AppDbContext db,
        UserTotal total,
        IEnumerable<IUserCreationStep> creationSteps,
        IEnumerable<IUserCreatedListener> listeners,
        ILogger<User> logger,
        CancellationToken cancellationToken)
    {
        var user = new User
        {
            Id = UserIds.Next(),
            Name = request.Name.Trim(),
            Email = request.Email.Trim().ToLowerInvariant(),
            CreatedAt = DateTimeOffset.UtcNow,
        };

        // No look-up first: the unique index on email decides, as it must anyway when two requests race, and a sign-up
        // is one round trip fewer (the look-up was one of its three; bench/Queue). A taken address costs a failed insert,
        // which PostgreSQL's own log records as an ERROR with the address in its DETAIL (log_error_verbosity = terse
        // leaves the DETAIL out).
        // The user and whatever the creation steps add (the welcome email's outbox row) are saved in one transaction.
        db.Users.Add(user);
        try
        {
            foreach (var step in creationSteps)
            {
                await step.RunAsync(user, cancellationToken);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogError(exception, "User {UserId} not created: a creation step failed", user.Id);
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The user could not be created right now",
                detail: "A dependency needed to finish creating the user is unavailable. Nothing was saved; try again.");
        }

        try
        {
            // Not cancelled when the client leaves: a save begun is finished (commit or roll back) rather than abandoned
            // mid-commit, where EF Core logged each client that went away as a transaction error (SignUpLogTests).
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (DbUpdateException exception) when (exception.Broke(User.EmailIndex))
        {
            // The address is taken, by an earlier sign-up or by a concurrent one that won the race: nothing was saved
            // (the pooled context is reset when the request ends).
            return EmailTaken(user.Email);
        }
        catch
        {
            // Any other failure goes on to its handler (503 or 500, logged there). The commit may still have gone through
            // with only its answer lost: a recount too many costs nothing.
            total.Changed();
            throw;
        }

        total.Changed();

        foreach (var listener in listeners)
        {
            try
            {
                await listener.OnUserCreatedAsync(user, CancellationToken.None);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Listener {Listener} failed for user {UserId}", listener.GetType().Name, user.Id);
            }
        }

        return TypedResults.Created($"/api/users/{user.Id}", UserResponse.From(user));
    }

    internal static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetAsync(
        Guid id, AppDbContext db, UserQueries queries, CancellationToken cancellationToken)
    {
        var user = await queries.UserById(db, id, cancellationToken);
        return user is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "User not found", detail: $"No user has id {id}.")
            : TypedResults.Ok(UserResponse.From(user));
    }

    // page costs what it skips: OFFSET (page - 1) * pageSize reads every row before the page (BENCHMARKS.md, growth).
    // after is a seek on the primary key, the same cost at any depth. Ids are UUIDv7 (UserIds.cs), so both orders are
    // creation order.
    internal static async Task<Results<Ok<PageResponse<UserResponse>>, ValidationProblem>> ListAsync(
        HttpContext http,
        AppDbContext db,
        UserQueries queries,
        UserTotal userTotal,
        CancellationToken cancellationToken,
        [Description("Page number, from 1, oldest users first. Costs what it skips: the database reads every user before the page, so deep pages are slow on a big table; prefer after.")]
        [Range(1, 1_000_000)] int page = 1,
        [Range(1, MaxPageSize)] int pageSize = 20,
        [Description("The id of the last user of the previous page (its next link carries it): the users created after that one. The same cost at any depth. Not with page. Ids are taken when a sign-up starts, so one that commits while you read the newest page may land before your cursor.")]
        Guid? after = null)
    {
        var items = new List<UserResponse>(pageSize);
        if (after is { } cursor)
        {
            if (http.Request.Query.ContainsKey(nameof(page)))
            {
                return AfterProblem("Give either page or after, not both.");
            }

            await foreach (var item in queries.UsersFrom(db, cursor, pageSize + 1).WithCancellation(cancellationToken))
            {
                items.Add(item);
            }

            if (items.Count == 0 || items[0].Id != cursor)
            {
                return AfterProblem($"No user has id {cursor}: pass the id of a user, such as the last one of the page before.");
            }

            items.RemoveAt(0);
        }
        else
        {
            await foreach (var item in queries.UsersPage(db, (page - 1) * pageSize, pageSize).WithCancellation(cancellationToken))
            {
                items.Add(item);
            }
        }

        var total = await userTotal.GetAsync(db, cancellationToken);
        // Relative (RFC 8288 allows it; the client resolves it against the URL it called), so neither a forged Host
        // header nor a proxy's own host name ends up in it. PathBase keeps a prefix the app was mounted under.
        string? next = null;
        if (items.Count == pageSize)
        {
            next = $"{http.Request.PathBase}{CollectionPath}?after={items[^1].Id}&pageSize={pageSize}";
            http.Response.Headers.Link = $"<{next}>; rel=\"next\"";
        }

        return TypedResults.Ok(new PageResponse<UserResponse>(items, after is null ? page : null, pageSize, total.Value, total.IsEstimate, next));
    }

    private static ValidationProblem AfterProblem(string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["after"] = [message] });

    private static ProblemHttpResult EmailTaken(string email) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Email already registered",
        detail: $"A user with email '{email}' already exists.");
}
