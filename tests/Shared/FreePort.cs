// Shared by the tests (tests/Api.Tests) and the feature benchmarks (bench/Email, bench/Realtime), linked into each:
// every server they start listens on 127.0.0.1 at a port found here.
using System.Net;
using System.Net.Sockets;

namespace Shared.Net;

public static class FreePort
{
    /// <summary>A port that nothing listens on right now, on 127.0.0.1.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
