using System.Diagnostics;

namespace Api.Tests.Infrastructure;

public static class Eventually
{
    /// <summary>Polls until the probe holds; on time-out fails with what was awaited (and the last error seen).</summary>
    public static async Task HoldsAsync(Func<Task<bool>> probe, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < timeout)
        {
            try
            {
                if (await probe())
                {
                    return;
                }
            }
            catch (Exception exception)
            {
                last = exception;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}." +
            (last is null ? "" : $" Last error: {last.Message}") + (diagnostics is null ? "" : $"\n{diagnostics()}"));
    }

    public static Task HoldsAsync(Func<bool> probe, TimeSpan timeout, string what, Func<string>? diagnostics = null) =>
        HoldsAsync(() => Task.FromResult(probe()), timeout, what, diagnostics);
}
