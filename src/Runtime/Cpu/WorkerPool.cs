using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace NetGen.Cpu;

/// <summary>One iteration of <see cref="WorkerPool.For{TBody}(int, TBody)"/>: called once per index, possibly on several threads at once.</summary>
public interface IParallelBody
{
    void Invoke(int index);
}

/// <summary>
/// A persistent pool of worker threads for the CPU kernels, with an allocation-free parallel for.
/// <para>
/// <see cref="ThreadCount"/> threads take part in a loop: the caller plus ThreadCount - 1 dedicated
/// background workers, started on the first parallel loop. The count is
/// <see cref="Environment.ProcessorCount"/> unless the environment variable NETGEN_THREADS holds a
/// positive integer (read once, at start-up). Iterations are handed out one index at a time from a
/// shared counter, so a worker that is late (descheduled on a busy machine) costs nothing: the
/// caller simply runs more of the indices itself.
/// </para>
/// <para>
/// A loop runs sequentially on the calling thread, in index order, when it has a single index,
/// when <see cref="ThreadCount"/> is 1, when another loop is already running (a loop started from
/// inside a loop body, or concurrently by another thread), so callers never block on each other and
/// never dead-lock. Nothing is allocated per loop; exceptions thrown by a body are re-thrown on the
/// caller after every index has run.
/// </para>
/// </summary>
public static unsafe class WorkerPool
{
    private const int Closed = int.MaxValue;
    /// <summary>How long an idle worker spins for the next loop before it blocks (back-to-back kernel calls find it awake).</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 10_000;   // 100 microseconds

    /// <summary>Threads that run a parallel loop, the caller included (at least 1).</summary>
    public static int ThreadCount { get; } = ReadThreadCount();

    // The current loop. Written only by the thread that holds _busy, published through _job.
    private static int _busy;
    private static uint _epoch;
    private static long _job;   // (epoch << 32) | next index to hand out; index Closed while a loop is being set up
    private static delegate*<int, void*, void> _body;
    private static void* _state;
    private static int _count;
    private static int _pending;   // indices not yet finished
    private static Exception? _error;

    private static readonly object _sleepLock = new();
    private static int _sleepers;
    private static Thread[]? _workers;
    private static long[]? _workerAllocatedBytes;   // per worker, updated after each loop it took part in (tests)

    private static int ReadThreadCount()
    {
        string? value = Environment.GetEnvironmentVariable("NETGEN_THREADS");
        if (value != null && int.TryParse(value.Trim(), out int n) && n > 0) return Math.Min(n, 1024);
        return Math.Max(1, Environment.ProcessorCount);
    }

    /// <summary>True when a parallel loop would run on more than one thread right now (no loop is running and ThreadCount &gt; 1).</summary>
    public static bool IsIdle => ThreadCount > 1 && Volatile.Read(ref _busy) == 0;

    /// <summary>
    /// Runs <c>body(i, state)</c> for every i in [0, count), on up to <see cref="ThreadCount"/> threads, and
    /// returns when all have finished. The body must be safe to run concurrently for different indices
    /// (write to disjoint outputs); <paramref name="state"/> is typically the address of a struct on the
    /// caller's stack, which stays valid until this method returns.
    /// </summary>
    public static void For(int count, delegate*<int, void*, void> body, void* state)
    {
        if (count <= 0) return;
        if (body == null) throw new ArgumentNullException(nameof(body));
        if (count == 1 || ThreadCount == 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // Sequential, with the parallel path's contract: every index runs, then the first exception is re-thrown.
            Exception? first = null;
            for (int i = 0; i < count; i++)
            {
                try { body(i, state); }
                catch (Exception e) { first ??= e; }
            }
            if (first != null) ExceptionDispatchInfo.Throw(first);
            return;
        }
        RunAcquired(count, body, state);
    }

    /// <summary>
    /// Runs <c>body(i, state)</c> for every i in [0, count) at the same time, each index on its own thread, so the
    /// bodies may wait for one another (a barrier): only when <paramref name="count"/> is at most
    /// <see cref="ThreadCount"/> and no other loop is running. Otherwise it runs nothing and returns false, and the
    /// caller takes a path without waiting.
    /// </summary>
    internal static bool TryForConcurrent(int count, delegate*<int, void*, void> body, void* state)
    {
        if (body == null) throw new ArgumentNullException(nameof(body));
        if (count < 2 || count > ThreadCount || Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        // Each thread that claims an index runs it to the end before it claims another, and a body that waits holds
        // its thread: so with count <= ThreadCount every index gets a thread of its own.
        RunAcquired(count, body, state);
        return true;
    }

    /// <summary>The parallel loop, for a caller that has set _busy.</summary>
    private static void RunAcquired(int count, delegate*<int, void*, void> body, void* state)
    {
        Exception? error;
        try
        {
            EnsureWorkers();
            uint epoch = ++_epoch;
            if (epoch == 0) epoch = _epoch = 1;   // 0 is the workers' "nothing seen yet"
            long open = (long)epoch << 32;
            Interlocked.Exchange(ref _job, open | Closed);   // late workers of the previous loop can no longer claim
            _body = body;
            _state = state;
            _count = count;
            _pending = count;
            _error = null;
            Interlocked.Exchange(ref _job, open);   // publish (full fence, pairs with the workers' sleep check)
            if (Volatile.Read(ref _sleepers) != 0)
            {
                lock (_sleepLock) Monitor.PulseAll(_sleepLock);
            }
            RunIndices(epoch, body, state, count);
            if (Volatile.Read(ref _pending) != 0)
            {
                var spinner = new SpinWait();
                while (Volatile.Read(ref _pending) != 0) spinner.SpinOnce(sleep1Threshold: -1);
            }
            error = _error;
            _error = null;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
        if (error != null) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>
    /// Runs <c>body.Invoke(i)</c> for every i in [0, count), like <see cref="For(int, delegate*{int, void*, void}, void*)"/>.
    /// The struct is copied once onto this method's stack and shared by reference between the threads,
    /// so <see cref="IParallelBody.Invoke"/> must not mutate it (write results through its array or pointer fields).
    /// </summary>
    public static void For<TBody>(int count, TBody body) where TBody : struct, IParallelBody
    {
        // One mechanism: the pointer overload decides between parallel and sequential and owns the exception rule.
        For(count, &InvokeBody<TBody>, Unsafe.AsPointer(ref body));
    }

    private static void InvokeBody<TBody>(int index, void* state) where TBody : struct, IParallelBody
        => Unsafe.AsRef<TBody>(state).Invoke(index);

    /// <summary>Claims and runs indices of loop <paramref name="epoch"/> until none is left (or a newer loop started).</summary>
    private static void RunIndices(uint epoch, delegate*<int, void*, void> body, void* state, int count)
    {
        while (true)
        {
            long job = Volatile.Read(ref _job);
            int index = (int)job;
            if ((uint)(job >> 32) != epoch || index >= count) return;
            if (Interlocked.CompareExchange(ref _job, job + 1, job) != job) continue;
            try
            {
                body(index, state);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    private static void EnsureWorkers()
    {
        if (Volatile.Read(ref _workers) != null) return;
        lock (_sleepLock)
        {
            if (_workers != null) return;
            var workers = new Thread[ThreadCount - 1];
            _workerAllocatedBytes = new long[workers.Length];
            for (int i = 0; i < workers.Length; i++)
            {
                int id = i;
                workers[i] = new Thread(() => WorkerLoop(id), maxStackSize: 1 << 20)
                {
                    IsBackground = true,
                    Name = $"NetGen worker {i + 1}",
                };
                workers[i].Start();
            }
            Volatile.Write(ref _workers, workers);
        }
    }

    /// <summary>Managed bytes the worker threads have allocated so far (as of the end of their last loop): for allocation tests.</summary>
    internal static long WorkerAllocatedBytes()
    {
        long[]? bytes = Volatile.Read(ref _workerAllocatedBytes);
        long sum = 0;
        if (bytes != null) for (int i = 0; i < bytes.Length; i++) sum += Volatile.Read(ref bytes[i]);
        return sum;
    }

    private static void WorkerLoop(int id)
    {
        long[] allocated = _workerAllocatedBytes!;
        uint seen = 0;
        while (true)
        {
            long job = WaitForLoop(seen);
            uint epoch = (uint)(job >> 32);
            seen = epoch;
            // The fields were written before the loop was published; if a newer loop has replaced them
            // since, every claim below fails (the epoch in _job no longer matches) and nothing runs.
            delegate*<int, void*, void> body = _body;
            void* state = _state;
            int count = _count;
            RunIndices(epoch, body, state, count);
            Volatile.Write(ref allocated[id], GC.GetAllocatedBytesForCurrentThread());
        }
    }

    /// <summary>Returns the first published loop newer than <paramref name="seen"/>: spins a while, then sleeps.</summary>
    private static long WaitForLoop(uint seen)
    {
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (true)
        {
            long job = Volatile.Read(ref _job);
            if (IsNew(job, seen)) return job;
            if (++spins < 64) { Thread.SpinWait(8); continue; }
            spins = 0;
            if (Stopwatch.GetTimestamp() - start < SpinTicks) continue;
            Interlocked.Increment(ref _sleepers);   // full fence: pairs with the publishing exchange in For
            lock (_sleepLock)
            {
                while (!IsNew(job = Volatile.Read(ref _job), seen)) Monitor.Wait(_sleepLock);
            }
            Interlocked.Decrement(ref _sleepers);
            return job;
        }
    }

    private static bool IsNew(long job, uint seen) => (uint)(job >> 32) != seen && (int)job != Closed;
}
