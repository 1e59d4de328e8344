using System;

namespace NetGen.Tests.Shared;

/// <summary>
/// Steady-state allocation probe shared by the test projects. The runtime itself allocates now and then on the
/// calling thread (tiered compilation installing a new code version, a lazily initialised static), so one
/// window of calls can show a few hundred bytes that are not the code's. A per-call allocation shows up in
/// every window, a one-time one in one window only: the probe returns the smallest window's bytes.
/// </summary>
internal static class Allocations
{
    /// <summary>
    /// Managed bytes allocated by the cheapest of <paramref name="windows"/> windows of calls: on this thread, plus
    /// what <paramref name="otherThreads"/> (a cumulative counter, e.g. the worker pool's) reports for the same window.
    /// </summary>
    public static long SteadyState(Action action, int callsPerWindow = 10, int windows = 5, int warmup = 3, Func<long>? otherThreads = null)
    {
        for (int i = 0; i < warmup; i++) action();
        long best = long.MaxValue;
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long otherBefore = otherThreads?.Invoke() ?? 0;
            for (int i = 0; i < callsPerWindow; i++) action();
            long others = (otherThreads?.Invoke() ?? 0) - otherBefore;
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before + others);
            if (best == 0) break;
        }
        return best;
    }
}
