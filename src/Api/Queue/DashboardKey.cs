using System.Security.Cryptography;
using System.Text;
using Api.ApiKeys;

namespace Api.Queue;

/// <summary>
/// The dashboard's key, <c>Queue:Dashboard:ApiKey</c>, and nothing else: the scrape credential sits in Prometheus'
/// configuration and must not sign a browser into a page that deletes and requeues jobs. Unset, the dashboard is closed.
/// </summary>
internal sealed class DashboardKey
{
    private readonly ApiKeyGuard? _guard;

    public DashboardKey(IOptions<QueueOptions> queue)
    {
        if (queue.Value.Dashboard.ApiKey is { Length: > 0 } key)
        {
            _guard = new ApiKeyGuard(key, "dashboard");
            Fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        }
    }

    public bool IsConfigured => _guard is not null;

    /// <summary>A short hash of the key (never the key), kept in the encrypted session cookie.</summary>
    public string Fingerprint { get; } = "";

    public bool Matches(string? presented) => _guard is not null && presented is not null && _guard.Matches(presented);

    public bool IsPresentedIn(IHeaderDictionary headers) => _guard is not null && _guard.IsAuthorized(headers);
}
