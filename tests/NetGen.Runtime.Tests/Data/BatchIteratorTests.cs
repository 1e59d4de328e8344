using NetGen.Tests.Shared;
using System;
using System.Collections.Generic;
using NetGen.Data;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class BatchIteratorTests
{
    /// <summary>Sample i has features i*10 + k (k &lt; sampleSize) and label 1000 + i.</summary>
    private static Dataset Numbered(int count, int sampleSize = 3)
    {
        var features = new float[count * sampleSize];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = 1000 + i;
            for (int k = 0; k < sampleSize; k++) features[i * sampleSize + k] = i * 10 + k;
        }
        return new Dataset(features, labels, rows: 1, columns: sampleSize);
    }

    /// <summary>Runs one epoch and returns the sample indices in the order they were handed out.</summary>
    private static List<int> Epoch(BatchIterator it, List<int>? batchSizes = null)
    {
        var seen = new List<int>();
        int size = it.Dataset.SampleSize;
        while (it.TryNext(out int n))
        {
            batchSizes?.Add(n);
            Assert.Equal(n, it.Count);
            Assert.Equal(n, it.BatchIndices.Length);
            for (int i = 0; i < n; i++)
            {
                int index = it.Labels[i] - 1000;
                Assert.Equal(it.BatchIndices[i], index);
                for (int k = 0; k < size; k++) Assert.Equal(index * 10 + k, it.Features[i * size + k]);
                seen.Add(index);
            }
            for (int i = n; i < it.BatchSize; i++)
            {
                Assert.Equal(0, it.Labels[i]);
                for (int k = 0; k < size; k++) Assert.Equal(0f, it.Features[i * size + k]);
            }
        }
        Assert.Equal(0, it.Next());
        return seen;
    }

    [Fact]
    public void EveryIndexExactlyOncePerEpoch_LastBatchShort()
    {
        var it = new BatchIterator(Numbered(10), batchSize: 4, seed: 7);
        Assert.Equal(3, it.BatchesPerEpoch);
        Assert.Equal(12, it.Features.Length);
        Assert.Equal(4, it.Labels.Length);

        for (int epoch = 0; epoch < 5; epoch++)
        {
            it.Shuffle();
            var sizes = new List<int>();
            List<int> seen = Epoch(it, sizes);
            Assert.Equal(new[] { 4, 4, 2 }, sizes);
            seen.Sort();
            Assert.Equal(Range(10), seen);
        }
    }

    [Fact]
    public void BeforeShuffle_OrderIsTheDatasetOrder_AndResetReplaysIt()
    {
        var it = new BatchIterator(Numbered(7), batchSize: 3, seed: 1);
        Assert.Equal(Range(7), Epoch(it));
        it.Reset();
        Assert.Equal(Range(7), Epoch(it));

        it.Shuffle();
        List<int> shuffled = Epoch(it);
        it.Reset();
        Assert.Equal(shuffled, Epoch(it));
    }

    [Fact]
    public void Shuffle_UsesNetGenRngFisherYates()
    {
        var it = new BatchIterator(Numbered(50), batchSize: 8, seed: 12345);
        var expected = new int[50];
        for (int i = 0; i < expected.Length; i++) expected[i] = i;
        var rng = new Rng(12345);
        rng.Shuffle(expected);

        it.Shuffle();

        Assert.Equal(expected, it.Order.ToArray());
        Assert.Equal(expected, Epoch(it).ToArray());
    }

    [Fact]
    public void SameSeed_SameOrders_DifferentSeed_DifferentOrders()
    {
        Dataset data = Numbered(100);
        var a = new BatchIterator(data, 16, seed: 42);
        var b = new BatchIterator(data, 16, seed: 42);
        var c = new BatchIterator(data, 16, seed: 43);

        var previous = new List<int>();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            a.Shuffle(); b.Shuffle(); c.Shuffle();
            List<int> ea = Epoch(a), eb = Epoch(b), ec = Epoch(c);
            Assert.Equal(ea, eb);
            Assert.NotEqual(ea, ec);
            Assert.NotEqual(previous, ea); // each epoch gets a new order
            previous = ea;
        }
    }

    [Fact]
    public void BatchLargerThanDataset_GivesOneShortBatch()
    {
        var it = new BatchIterator(Numbered(3), batchSize: 8, seed: 0);
        it.Shuffle();
        var sizes = new List<int>();
        List<int> seen = Epoch(it, sizes);
        Assert.Equal(new[] { 3 }, sizes);
        seen.Sort();
        Assert.Equal(Range(3), seen);
    }

    [Fact]
    public void EmptyDataset_HasNoBatches()
    {
        var it = new BatchIterator(new Dataset(Array.Empty<float>(), Array.Empty<int>(), 2, 2), batchSize: 4, seed: 0);
        it.Shuffle();
        Assert.Equal(0, it.BatchesPerEpoch);
        Assert.False(it.TryNext(out int n));
        Assert.Equal(0, n);
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchIterator(Numbered(3), 0, 1));
        Assert.Throws<ArgumentNullException>(() => new BatchIterator(null!, 4, 1));
        Assert.Throws<ArgumentException>(() => new Dataset(new float[5], new int[2], 1, 3));
    }

    [Fact]
    public void NextAndShuffle_AllocateNothingAfterWarmUp()
    {
        // MNIST-sized samples so the copies are real work.
        const int count = 1000, size = 784;
        var data = new Dataset(new float[count * size], new int[count], 28, 28);
        var it = new BatchIterator(data, batchSize: 32, seed: 3);

        // Warm-up: one full epoch through every method (JIT, statics).
        RunEpochs(it, 2);

        int batches = 0;
        long allocated = Allocations.SteadyState(() => batches += RunEpochs(it, 1), callsPerWindow: 5, windows: 3, warmup: 0);

        Assert.Equal(0, allocated);
        Assert.True(batches % 32 == 0 && batches >= 5 * 32, $"{batches} batches"); // 31 full batches + 1 of 8 per epoch

        static int RunEpochs(BatchIterator it, int epochs)
        {
            int batches = 0;
            for (int e = 0; e < epochs; e++)
            {
                it.Shuffle();
                while (it.TryNext(out _)) batches++;
                it.Reset();
                while (it.Next() > 0) { }
            }
            return batches;
        }
    }

    private static List<int> Range(int n)
    {
        var list = new List<int>(n);
        for (int i = 0; i < n; i++) list.Add(i);
        return list;
    }
}
