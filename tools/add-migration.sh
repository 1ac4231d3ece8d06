#!/usr/bin/env bash
# Adds an EF Core migration that serves both providers (README's Migrations): `dotnet ef migrations add` with the
# repository's own dotnet-ef (.config/dotnet-tools.json), then the clean-up of what the tool writes for the one
# provider it ran with (SQLite, the default):
#   - SQLite's column types (TEXT, INTEGER, REAL, BLOB) go: on PostgreSQL they would make a Guid a text column and a
#     bool an integer one (MigrationsTests checks the native types);
#   - an identity column keeps PostgreSQL's annotation beside SQLite's: the regenerated snapshot drops it, and
#     PostgreSQL would then see a model change no migration captures.
# A type you configured yourself (HasColumnType("jsonb")) is left alone. Usage: tools/add-migration.sh <Name>
set -euo pipefail
name=${1:?usage: tools/add-migration.sh <MigrationName>}
cd "$(dirname "$0")/.."
dir=src/Api/Data/Migrations

dotnet tool restore > /dev/null
dotnet restore src/Api > /dev/null # dotnet ef reads the project's assets before its own build
before=$(ls "$dir")
dotnet ef migrations add "$name" --project src/Api --output-dir Data/Migrations
added=$(comm -13 <(echo "$before") <(ls "$dir"))
[[ -n "$added" ]] || { echo "add-migration.sh: dotnet ef wrote no migration" >&2; exit 1; }

for file in $(sed "s|^|$dir/|" <<< "$added") "$dir/AppDbContextModelSnapshot.cs"; do
  perl -0pi -e '
    s/^\x{EF}\x{BB}\x{BF}//;
    s/\b(old)?[tT]ype: "(TEXT|INTEGER|REAL|BLOB)", //g;
    s/\n[ \t]*\.HasColumnType\("(TEXT|INTEGER|REAL|BLOB)"\);/;/g;
    s/\n[ \t]*\.HasColumnType\("(TEXT|INTEGER|REAL|BLOB)"\)//g;
    s/^([ \t]*)(\.Annotation\("Sqlite:Autoincrement", true\))(?!\s*\.Annotation\("Npgsql)/$1$2\n$1.Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn)/mg;
    s{^([ \t]*)b\.Property<(int|long|short)>\("(\w+)"\)((?:\n[ \t]+\.[^\n]*)*?\n[ \t]+\.ValueGeneratedOnAdd\(\)(?:\n[ \t]+\.[^\n]*)*?;)\n(?!\n[ \t]*NpgsqlPropertyBuilderExtensions)}
     {$1b.Property<$2>("$3")$4\n\n$1NpgsqlPropertyBuilderExtensions.UseIdentityByDefaultColumn(b.Property<$2>("$3"));\n}mg;
    s/\n\n#nullable disable/\nusing Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;\n\n#nullable disable/
      if /Npgsql(PropertyBuilderExtensions|ValueGenerationStrategy)/ && !/^using Npgsql\.EntityFrameworkCore\.PostgreSQL\.Metadata;/m;
  ' "$file"
done
echo "add-migration.sh: $(tr '\n' ' ' <<< "$added")and the snapshot, cleaned for both providers"
