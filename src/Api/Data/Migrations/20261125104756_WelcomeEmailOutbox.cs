using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class WelcomeEmailOutbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "welcome_email_outbox",
                columns: table => new
                {
                    user_id = table.Column<Guid>(nullable: false),
                    name = table.Column<string>(maxLength: 100, nullable: false),
                    email = table.Column<string>(maxLength: 254, nullable: false),
                    claimed_until = table.Column<long>(nullable: false),
                    claim_token = table.Column<Guid>(nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_welcome_email_outbox", x => x.user_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_welcome_email_outbox_claimed_until",
                table: "welcome_email_outbox",
                column: "claimed_until");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "welcome_email_outbox");
        }
    }
}
