namespace Bench.Shared;

/// <summary>What every feature benchmark needs; compiled into each bench program (see their .csproj files).</summary>
internal static class BenchHelpers
{
    /// <summary>The value below which <paramref name="fraction"/> of an ascending list lies (nearest rank); 0 when empty.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double fraction) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(fraction * sorted.Count))];
}
