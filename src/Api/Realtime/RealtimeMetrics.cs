using System.Diagnostics.Metrics;

namespace Api.Realtime;

/// <summary>
/// The seed's WebSocket metric. Its name is a contract with the dashboards and alerts; RealtimeMetricsTests holds it.
/// </summary>
public sealed class RealtimeMetrics
{
    public const string MeterName = "Api.Realtime";

    /// <summary>
    /// Open connections right now. An UpDownCounter, which the Prometheus exporter writes as a gauge; the <c>_total</c>
    /// suffix is wrong for a gauge but is the name the seed's dashboards query, so it stays.
    /// </summary>
    public const string ConnectionsTotal = "websocket_connections_total";

    private readonly UpDownCounter<long> _connections;

    public RealtimeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>(ConnectionsTotal, unit: null,
            description: "WebSocket (SignalR) connections currently open on this instance.");

        // The series exists from start-up with 0, so a dashboard shows 0 rather than "No data" before the first client.
        _connections.Add(0);
    }

    public void Connected() => _connections.Add(1);

    public void Disconnected() => _connections.Add(-1);
}
