using System.ComponentModel.DataAnnotations;
using Api.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Api.Notes;

// Display names are the JSON names, so a validation error names the field the client sent.
public sealed record CreateNoteRequest(
    [property: Required, StringLength(Note.TextMaxLength, MinimumLength = 1)] [Display(Name = "text")] string Text,
    [Display(Name = "pinned")] bool Pinned = false);

public sealed record NoteResponse(Guid Id, string Text, bool Pinned, DateTimeOffset CreatedAt)
{
    public static NoteResponse From(Note note) => new(note.Id, note.Text, note.Pinned, note.CreatedAt);
}

public static class NotesApi
{
    // Validation (AddValidation, source-generated for every endpoint), problem details, metrics and tracing are the
    // app's already; a feature registers only its own services and options.
    public static IHostApplicationBuilder AddNotes(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    public static IEndpointRouteBuilder MapNotes(this IEndpointRouteBuilder endpoints)
    {
        // The group stops at /api, so each route template (the metrics' route label) reads as requested.
        var api = endpoints.MapGroup("/api").WithTags("Notes");
        // Every status an operation can answer is declared for the OpenAPI document; 503 is the database's timeout.
        // An endpoint that sends mail also takes .RequireRateLimiting(SecurityExtensions.SignUpPolicy), as sign-up does.
        api.MapPost("/notes", CreateAsync)
            .WithName("CreateNote").WithSummary("Create a note")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/notes/{id:guid}", GetAsync)
            .WithName("GetNote").WithSummary("Get a note by id")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    internal static async Task<Created<NoteResponse>> CreateAsync(
        CreateNoteRequest request, AppDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var note = new Note { Text = request.Text.Trim(), Pinned = request.Pinned, CreatedAt = clock.GetUtcNow() };
        db.Notes.Add(note);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/notes/{note.Id}", NoteResponse.From(note));
    }

    internal static async Task<Results<Ok<NoteResponse>, ProblemHttpResult>> GetAsync(
        Guid id, AppDbContext db, CancellationToken cancellationToken)
    {
        var note = await db.Notes.AsNoTracking().FirstOrDefaultAsync(n => n.Id == id, cancellationToken);
        return note is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Note not found", detail: $"No note has id {id}.")
            : TypedResults.Ok(NoteResponse.From(note));
    }
}
