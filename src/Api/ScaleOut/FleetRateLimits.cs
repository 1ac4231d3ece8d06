using System.Threading.RateLimiting;
using Api.Observability;
using RedisRateLimiting;

namespace Api.ScaleOut;

/// <summary>
/// Per-client limits counted for the whole fleet: in Redis (RedisRateLimiting's fixed window, one atomic script per
/// request) when <c>ConnectionStrings:Redis</c> is set, else in this process' memory. When Redis fails or hangs the
/// limit fails open to this instance's own count: a request never waits longer than <see cref="FleetRedis.Timeout"/>
/// and never fails because of Redis, the outage is logged once, and for <see cref="RetryInterval"/> after a failure
/// requests skip Redis altogether (then one request tries it again). While it lasts, each instance allows the full
/// limit, so a client may get N times the limit across N instances.
/// </summary>
internal sealed class FleetRateLimits(ILogger<FleetRateLimits> logger, TimeProvider time, FleetRedis? redis = null)
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly OutageLog _outage = new(logger, "The rate limits' Redis", time);
    private long _skipRedisUntilTicks; // 0 while Redis works
    private int _trying;

    public RateLimitPartition<string> PerMinute(string policy, string client, int permits)
    {
        var window = new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 };
        if (redis is null)
        {
            return RateLimitPartition.GetFixedWindowLimiter(client, _ => window);
        }

        // The Redis key names the app and the policy, so one Redis may serve several apps and policies.
        return RateLimitPartition.Get($"Api:{policy}:{client}", key => new FailOpenLimiter(this,
            new RedisFixedWindowRateLimiter<string>(key, new RedisFixedWindowRateLimiterOptions
            {
                ConnectionMultiplexerFactory = () => redis.Connection,
                PermitLimit = permits,
                Window = window.Window,
            }),
            new FixedWindowRateLimiter(window)));
    }

    private bool ShouldTryRedis()
    {
        var skipUntil = Volatile.Read(ref _skipRedisUntilTicks);
        if (skipUntil == 0)
        {
            return true;
        }

        // After the interval one request at a time finds out whether Redis is back; the others count locally meanwhile.
        return time.GetUtcNow().UtcTicks >= skipUntil && Interlocked.CompareExchange(ref _trying, 1, 0) == 0;
    }

    private void RedisWorked()
    {
        if (Volatile.Read(ref _skipRedisUntilTicks) != 0)
        {
            Volatile.Write(ref _skipRedisUntilTicks, 0);
            Volatile.Write(ref _trying, 0);
        }

        _outage.Succeeded();
    }

    private void RedisFailed(Exception exception)
    {
        Volatile.Write(ref _skipRedisUntilTicks, (time.GetUtcNow() + RetryInterval).UtcTicks);
        Volatile.Write(ref _trying, 0);
        _outage.Failed(exception);
    }

    private sealed class FailOpenLimiter(FleetRateLimits owner, RateLimiter shared, RateLimiter local) : RateLimiter
    {
        public override TimeSpan? IdleDuration => local.IdleDuration;

        public override RateLimiterStatistics? GetStatistics() => local.GetStatistics();

        // The middleware attempts a synchronous acquire first and waits on AcquireAsync only when that fails: failing
        // it always sends every request to Redis (as RedisRateLimiting's own limiters do), not to the local count.
        protected override RateLimitLease AttemptAcquireCore(int permitCount) => NotAcquired.Instance;

        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        {
            if (owner.ShouldTryRedis())
            {
                try
                {
                    var lease = await shared.AcquireAsync(permitCount, cancellationToken).AsTask().WaitAsync(FleetRedis.Timeout, cancellationToken);
                    owner.RedisWorked();
                    return new SharedLease(lease);
                }
                // Anything from the Redis side, not only RedisException and timeouts: StackExchange.Redis also throws
                // InvalidOperationException when a connection drops mid-read (seen under load), and a limit that
                // cannot be counted must not fail the request. Only the client's own abort propagates.
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    owner.RedisFailed(exception);
                }
            }

            return await local.AcquireAsync(permitCount, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                shared.Dispose();
                local.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class NotAcquired : RateLimitLease
    {
        public static readonly NotAcquired Instance = new();

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }

    /// <summary>RedisRateLimiting reports Retry-After in whole seconds as an int; the middleware reads a TimeSpan.</summary>
    private sealed class SharedLease(RateLimitLease inner) : RateLimitLease
    {
        public override bool IsAcquired => inner.IsAcquired;

        public override IEnumerable<string> MetadataNames => inner.MetadataNames;

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (!inner.TryGetMetadata(metadataName, out metadata))
            {
                return false;
            }

            if (metadataName == MetadataName.RetryAfter.Name && metadata is int seconds)
            {
                metadata = TimeSpan.FromSeconds(Math.Max(1, seconds));
            }

            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
