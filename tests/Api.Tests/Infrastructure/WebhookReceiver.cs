using System.Net;
using System.Text.Json;

namespace Api.Tests.Infrastructure;

/// <summary>
/// An HTTP endpoint on 127.0.0.1 that records what Alertmanager's webhook receiver posts: one notification per
/// request, each with the alerts of one group.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<(string Name, string Status, JsonElement Labels)> _alerts = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public WebhookReceiver()
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = ServeAsync(_stopping.Token);
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/alerts";

    /// <summary>Every alert received so far, as (alertname, firing|resolved, labels).</summary>
    public IReadOnlyList<(string Name, string Status, JsonElement Labels)> Alerts
    {
        get { lock (_alerts) { return _alerts.ToList(); } }
    }

    private async Task ServeAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(cancellationToken);
            }
            catch (Exception exception) when (exception is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using (var document = await JsonDocument.ParseAsync(context.Request.InputStream, cancellationToken: cancellationToken))
            {
                lock (_alerts)
                {
                    foreach (var alert in document.RootElement.GetProperty("alerts").EnumerateArray())
                    {
                        var labels = alert.GetProperty("labels").Clone();
                        _alerts.Add((labels.GetProperty("alertname").GetString()!, alert.GetProperty("status").GetString()!, labels));
                    }
                }
            }

            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Close();
        await _loop;
        _stopping.Dispose();
    }
}
