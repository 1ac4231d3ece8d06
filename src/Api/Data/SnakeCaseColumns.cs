using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;

namespace Api.Data;

/// <summary>
/// Every column is named after its property in snake_case (<c>CreatedAt</c> becomes <c>created_at</c>), the way
/// PostgreSQL spells names unquoted, so a feature's table configuration names only what differs. A name a configuration
/// gives (<c>HasColumnName</c>) wins over this.
/// </summary>
internal sealed class SnakeCaseColumns : IModelFinalizingConvention
{
    public void ProcessModelFinalizing(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
    {
        foreach (var property in modelBuilder.Metadata.GetEntityTypes().SelectMany(entity => entity.GetDeclaredProperties()))
        {
            property.Builder.HasColumnName(SnakeCase(property.Name));
        }
    }

    internal static string SnakeCase(string name)
    {
        var snake = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                snake.Append('_');
            }

            snake.Append(char.ToLowerInvariant(name[i]));
        }

        return snake.ToString();
    }
}
