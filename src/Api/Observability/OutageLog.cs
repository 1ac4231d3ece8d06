namespace Api.Observability;

/// <summary>
/// Logs a dependency's outage once when it starts (a warning with the exception) and once when it ends (how long it
/// lasted), whatever number of requests, scrapes or probes fail in between (those go to Debug). One per component that
/// calls the dependency on every request, so an outage is a few lines in the log, not one stack trace per request.
/// </summary>
public sealed partial class OutageLog(ILogger logger, string dependency, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _failingSinceTicks; // 0 while the dependency works

    public void Failed(Exception exception)
    {
        var now = _time.GetUtcNow().UtcTicks;
        if (Interlocked.CompareExchange(ref _failingSinceTicks, now, 0) == 0)
        {
            LogStarted(dependency, exception.Message, exception);
        }
        else
        {
            LogStillFailing(dependency, exception.Message);
        }
    }

    public void Succeeded()
    {
        // A read, not a write, on the common path: most calls find the dependency working.
        if (Volatile.Read(ref _failingSinceTicks) == 0)
        {
            return;
        }

        var since = Interlocked.Exchange(ref _failingSinceTicks, 0);
        if (since != 0)
        {
            var outage = _time.GetUtcNow() - new DateTimeOffset(since, TimeSpan.Zero);
            LogEnded(dependency, outage);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Dependency} is unavailable: {Reason}. Logged once per outage; its end is logged too")]
    private partial void LogStarted(string dependency, string reason, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Dependency} still unavailable: {Reason}")]
    private partial void LogStillFailing(string dependency, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Dependency} works again after {Outage}")]
    private partial void LogEnded(string dependency, TimeSpan outage);
}
