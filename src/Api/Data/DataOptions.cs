using System.ComponentModel.DataAnnotations;

namespace Api.Data;

/// <summary>Settings under <c>Data</c>.</summary>
public sealed class DataOptions
{
    public const string Section = "Data";

    /// <summary>
    /// PostgreSQL: the longest a command, or opening a connection, may take. A request that hits it answers 503 instead
    /// of hanging on a hung database (Npgsql's defaults are 30 s and 15 s).
    /// </summary>
    [Range(1, 600)]
    public int CommandTimeoutSeconds { get; set; } = 5;
}
