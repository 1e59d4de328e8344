using System;

namespace NetGen.Data;

/// <summary>
/// Iterates a <see cref="Dataset"/> in mini-batches, copying each batch's features and labels into
/// buffers allocated once at construction (<see cref="Features"/>, <see cref="Labels"/>). After
/// construction neither <see cref="Next"/>, <see cref="TryNext"/>, <see cref="Shuffle"/> nor
/// <see cref="Reset"/> allocates managed memory.
/// </summary>
/// <remarks>
/// Typical use:
/// <code>
/// var batches = new BatchIterator(train, batchSize: 64, seed: 1);
/// for (int epoch = 0; epoch &lt; epochs; epoch++)
/// {
///     batches.Shuffle();
///     while (batches.TryNext(out int n)) Step(batches.Features, batches.Labels, n);
/// }
/// </code>
/// Until the first <see cref="Shuffle"/> the order is the data set's own order. Each <see cref="Shuffle"/>
/// draws a fresh permutation of 0..Count-1 from a <see cref="Rng"/> seeded once at construction, so the
/// sequence of epoch orders depends only on the seed. Not thread-safe.
/// </remarks>
public sealed class BatchIterator
{
    private readonly int[] _order;
    private Rng _rng;
    private int _position;
    private int _batchStart;
    private int _filled; // samples currently written in the buffers

    /// <param name="dataset">The samples to iterate (not copied; it must not change size).</param>
    /// <param name="batchSize">Samples per batch; the last batch of an epoch may be shorter.</param>
    /// <param name="seed">Seed of the shuffling <see cref="Rng"/>.</param>
    public BatchIterator(Dataset dataset, int batchSize, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        long featureCount = (long)batchSize * dataset.SampleSize;
        if (featureCount > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batch of {batchSize} x {dataset.SampleSize} features is too large.");

        Dataset = dataset;
        BatchSize = batchSize;
        Seed = seed;
        Features = new float[featureCount];
        Labels = new int[batchSize];
        _order = new int[dataset.Count];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _rng = new Rng(seed);
    }

    /// <summary>The data set being iterated.</summary>
    public Dataset Dataset { get; }

    /// <summary>Maximum samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>The seed given at construction.</summary>
    public ulong Seed { get; }

    /// <summary>Batches in one epoch (the last one may be short).</summary>
    public int BatchesPerEpoch => (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>
    /// The current batch's features: <see cref="BatchSize"/> * <see cref="Dataset.SampleSize"/> floats, of which
    /// the first <see cref="Count"/> * SampleSize are valid; the rest are zero. Same array for every batch.
    /// </summary>
    public float[] Features { get; }

    /// <summary>The current batch's labels: the first <see cref="Count"/> are valid, the rest are zero. Same array for every batch.</summary>
    public int[] Labels { get; }

    /// <summary>Samples in the current batch (the value the last <see cref="Next"/> returned; 0 before the first).</summary>
    public int Count { get; private set; }

    /// <summary>Position in the epoch's order of the next sample to hand out.</summary>
    public int Position => _position;

    /// <summary>The current epoch's order: a permutation of 0..Dataset.Count-1.</summary>
    public ReadOnlySpan<int> Order => _order;

    /// <summary>The data-set indices of the samples in the current batch.</summary>
    public ReadOnlySpan<int> BatchIndices => new(_order, _batchStart, Count);

    /// <summary>Draws a new random order for the next epoch and rewinds to its start.</summary>
    public void Shuffle()
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _rng.Shuffle(_order);
        Reset();
    }

    /// <summary>Rewinds to the start of the current order without reshuffling.</summary>
    public void Reset()
    {
        _position = 0;
        _batchStart = 0;
        Count = 0;
    }

    /// <summary>
    /// Copies the next batch into <see cref="Features"/> and <see cref="Labels"/> and returns its size, or 0
    /// (with empty buffers) when the epoch is exhausted; call <see cref="Shuffle"/> or <see cref="Reset"/> then.
    /// </summary>
    public int Next()
    {
        int n = Math.Min(BatchSize, _order.Length - _position);
        int size = Dataset.SampleSize;
        float[] source = Dataset.Features;
        int[] labels = Dataset.Labels;
        for (int i = 0; i < n; i++)
        {
            int index = _order[_position + i];
            source.AsSpan(index * size, size).CopyTo(Features.AsSpan(i * size, size));
            Labels[i] = labels[index];
        }
        if (n < _filled)
        {
            // Zero what an earlier, longer batch left behind, so entries past n are always zero.
            Array.Clear(Features, n * size, (_filled - n) * size);
            Array.Clear(Labels, n, _filled - n);
        }
        _filled = n;
        _batchStart = _position;
        _position += n;
        Count = n;
        return n;
    }

    /// <summary><see cref="Next"/> as a loop condition: false when the epoch is exhausted.</summary>
    public bool TryNext(out int count)
    {
        count = Next();
        return count > 0;
    }
}
