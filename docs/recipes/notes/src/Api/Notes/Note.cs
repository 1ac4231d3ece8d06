using Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Api.Notes;

public sealed class Note
{
    public const int TextMaxLength = 500;

    /// <summary>Version 7: time-ordered, so the primary key index is also the creation order.</summary>
    public Guid Id { get; init; } = Guid.CreateVersion7();

    public required string Text { get; init; }

    public bool Pinned { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

// Found by AppDbContext (ApplyConfigurationsFromAssembly): Data does not need to know the feature.
internal sealed class NoteConfiguration : IEntityTypeConfiguration<Note>
{
    public void Configure(EntityTypeBuilder<Note> note)
    {
        note.ToTable("notes");
        note.HasKey(n => n.Id);
        note.Property(n => n.Id).HasColumnName("id").ValueGeneratedNever();
        note.Property(n => n.Text).HasColumnName("text").HasMaxLength(Note.TextMaxLength).IsRequired();
        note.Property(n => n.Pinned).HasColumnName("pinned");
        note.Property(n => n.CreatedAt).HasColumnName("created_at");
    }
}

internal static class NotesTable
{
    extension(AppDbContext db)
    {
        public DbSet<Note> Notes => db.Set<Note>();
    }
}
