using System.Net;
using System.Net.Sockets;

namespace Bench.Shared;

/// <summary>What every feature benchmark needs; compiled into each bench program (see their .csproj files).</summary>
internal static class BenchHelpers
{
    /// <summary>A port on 127.0.0.1 that was free a moment ago, for a server the benchmark starts.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The value below which <paramref name="fraction"/> of an ascending list lies (nearest rank); 0 when empty.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double fraction) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(fraction * sorted.Count))];
}
