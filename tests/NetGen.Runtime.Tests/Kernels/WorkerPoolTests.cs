using System;
using System.Threading;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>
/// Runs alone: TryForConcurrent refuses (returns false) while any other loop holds the pool, and xunit runs other
/// test classes' kernels in parallel, so beside them the "it runs when the pool is free" assertions raced.
/// </summary>
[CollectionDefinition(nameof(WorkerPoolExclusiveCollection), DisableParallelization = true)]
public sealed class WorkerPoolExclusiveCollection;

[Collection(nameof(WorkerPoolExclusiveCollection))]
public unsafe class WorkerPoolTests
{
    [Fact]
    public void ThreadCountIsPositive() => Assert.True(WorkerPool.ThreadCount >= 1);

    private static void Increment(int index, void* state) => Interlocked.Increment(ref ((int*)state)[index]);

    /// <summary>state: [arrived, count]; every index waits until all have arrived (it would hang if two shared a thread).</summary>
    private static void WaitForAll(int index, void* state)
    {
        int* s = (int*)state;
        Interlocked.Increment(ref s[0]);
        var spinner = new SpinWait();
        while (Volatile.Read(ref s[0]) < s[1]) spinner.SpinOnce(sleep1Threshold: -1);
    }

    private static void TryNested(int index, void* state)
    {
        int* s = stackalloc int[] { 0, 2 };
        ((int*)state)[index] = WorkerPool.TryForConcurrent(2, &WaitForAll, s) ? 1 : 2;
    }

    [SkippableFact]
    public void TryForConcurrentRunsEveryIndexOnItsOwnThreadOrNothing()
    {
        Skip.If(WorkerPool.ThreadCount < 2, "skipped: one thread (NETGEN_THREADS=1 or one core)");
        int* state = stackalloc int[] { 0, WorkerPool.ThreadCount };
        for (int round = 0; round < 50; round++)
        {
            state[0] = 0;
            Assert.True(WorkerPool.TryForConcurrent(WorkerPool.ThreadCount, &WaitForAll, state));
            Assert.Equal(WorkerPool.ThreadCount, state[0]);
        }
        int* unused = stackalloc int[] { 0, 0 };
        Assert.False(WorkerPool.TryForConcurrent(WorkerPool.ThreadCount + 1, &WaitForAll, unused));   // more than the threads
        Assert.False(WorkerPool.TryForConcurrent(1, &WaitForAll, unused));
        Assert.Equal(0, unused[0]);
        // from inside a loop the pool is busy: refused, never run on one thread (where the bodies would wait forever)
        int[] results = new int[2];
        fixed (int* r = results) WorkerPool.For(2, &TryNested, r);
        Assert.Equal(new[] { 2, 2 }, results);
    }

    [Fact]
    public void ForRunsEveryIndexExactlyOnce()
    {
        foreach (int count in new[] { 0, 1, 2, 3, 17, 1000 })
        {
            int[] hits = new int[Math.Max(1, count)];
            fixed (int* h = hits) WorkerPool.For(count, &Increment, h);
            for (int i = 0; i < count; i++) Assert.Equal(1, hits[i]);
        }
    }

    private struct Squares : IParallelBody
    {
        public int[] Output;
        public void Invoke(int index) => Output[index] = index * index;
    }

    [Fact]
    public void GenericBodyRunsEveryIndex()
    {
        var output = new int[513];
        WorkerPool.For(output.Length, new Squares { Output = output });
        for (int i = 0; i < output.Length; i++) Assert.Equal(i * i, output[i]);
    }

    private struct Nested : IParallelBody
    {
        public int[] Output;
        public void Invoke(int index)
        {
            // a loop inside a loop runs inline on the same thread
            fixed (int* h = Output) WorkerPool.For(8, &Increment, h + index * 8);
        }
    }

    [Fact]
    public void NestedLoopsRunInline()
    {
        var output = new int[16 * 8];
        WorkerPool.For(16, new Nested { Output = output });
        Assert.All(output, v => Assert.Equal(1, v));
    }

    private struct Throwing : IParallelBody
    {
        public int[] Done;
        public void Invoke(int index)
        {
            Interlocked.Increment(ref Done[0]);
            if (index == 5) throw new InvalidOperationException("boom 5");
        }
    }

    [Fact]
    public void ExceptionsReachTheCallerAfterAllIndicesRan()
    {
        var done = new int[1];
        var ex = Assert.Throws<InvalidOperationException>(() => WorkerPool.For(40, new Throwing { Done = done }));
        Assert.Equal("boom 5", ex.Message);
        Assert.Equal(40, done[0]);
        // the pool is usable afterwards
        var output = new int[64];
        WorkerPool.For(output.Length, new Squares { Output = output });
        Assert.Equal(63 * 63, output[63]);
    }

    [Fact]
    public void ConcurrentLoopsFromSeveralThreadsAllComplete()
    {
        var threads = new Thread[4];
        var results = new int[4][];
        for (int t = 0; t < threads.Length; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                var hits = new int[257];
                for (int iter = 0; iter < 200; iter++)
                    fixed (int* h = hits) WorkerPool.For(hits.Length, &Increment, h);
                results[id] = hits;
            });
            threads[t].Start();
        }
        foreach (Thread thread in threads) thread.Join();
        foreach (int[] hits in results) Assert.All(hits, v => Assert.Equal(200, v));
    }
}
