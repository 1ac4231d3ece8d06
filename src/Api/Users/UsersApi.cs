using System.ComponentModel.DataAnnotations;
using Api.Configuration;
using Api.Data;
using Api.Jwt;
using Api.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Api.Users;

public static class UsersApi
{
    public const int MaxPageSize = 100;

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
        // Data:CommandTimeoutSeconds (Data/DatabaseUnavailable.cs).
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
            .RequireAuthorization(JwtExtensions.ApiPolicy)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    internal static async Task<Results<Created<UserResponse>, ProblemHttpResult>> CreateAsync(
        CreateUserRequest request,
        AppDbContext db,
        UserQueries queries,
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

        if (await queries.EmailExists(db, user.Email, cancellationToken))
        {
            return EmailTaken(user.Email);
        }

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
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Most likely a concurrent request for the same address won the race to the unique index.
            db.ChangeTracker.Clear();
            if (await queries.EmailExists(db, user.Email, CancellationToken.None))
            {
                return EmailTaken(user.Email);
            }

            throw;
        }
        finally
        {
            // Also when the commit went through and only its answer was lost: a recount too many costs nothing.
            total.Changed();
        }

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

    internal static async Task<Ok<PageResponse<UserResponse>>> ListAsync(
        AppDbContext db,
        UserQueries queries,
        UserTotal userTotal,
        CancellationToken cancellationToken,
        [Range(1, 1_000_000)] int page = 1,
        [Range(1, MaxPageSize)] int pageSize = 20)
    {
        var total = await userTotal.GetAsync(db, cancellationToken);
        var items = new List<UserResponse>(pageSize);
        await foreach (var item in queries.UsersPage(db, (page - 1) * pageSize, pageSize).WithCancellation(cancellationToken))
        {
            items.Add(item);
        }

        return TypedResults.Ok(new PageResponse<UserResponse>(items, page, pageSize, total));
    }

    private static ProblemHttpResult EmailTaken(string email) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Email already registered",
        detail: $"A user with email '{email}' already exists.");
}
