using System;

namespace NetGen.Examples.Sequence;

/// <summary>Hyperparameters of the memory comparison.</summary>
public sealed record MemoryConfig
{
    public ulong Seed { get; init; } = 1;
    public int Epochs { get; init; } = 15;
    public int TrainSequences { get; init; } = 10_000;
    public int TestSequences { get; init; } = 2_000;
    public int BatchSize { get; init; } = 32;
    public float LearningRate { get; init; } = 2e-3f;
    /// <summary>Initial bias of the LSTM's forget gates (rows H..2H of bias_ih; bias_hh's set to 0).</summary>
    public float ForgetBias { get; init; } = 3f;
    /// <summary>Initial bias of the LSTM's input gates (rows 0..H of bias_ih; bias_hh's set to 0).</summary>
    public float InputBias { get; init; } = -3f;
    /// <summary>Largest L2 norm of the gradient (all parameters together); larger gradients are scaled down before Adam. 0 = no clipping.</summary>
    public float ClipNorm { get; init; } = 1f;
    /// <summary>Seed of the test sequences (fixed across training seeds).</summary>
    public ulong TestSeed { get; init; } = 20_250_602;
}

/// <summary>
/// Trains one many-to-one classifier (a generated network with one logit output) on the temporal-order task with
/// binary cross-entropy on its logit and Adam, and measures accuracy.
/// </summary>
public sealed class MemoryTrainer
{
    private readonly MemoryConfig _config;
    private readonly float[] _inputs, _labels, _batchInputs, _batchLabels, _logitGradient;
    private readonly int[] _order;
    private readonly Adam _adam;
    private readonly int _sequenceSize;
    private Rng _shuffle;

    public MemoryTrainer(MemoryConfig config, ISingleInputNetwork network, float[] inputs, float[] labels)
    {
        if (network.OutputSize != 1) throw new ArgumentException("The classifier must output one logit.", nameof(network));
        if (inputs.Length != labels.Length * network.InputSize) throw new ArgumentException("Inputs and labels do not match the network.", nameof(inputs));
        _config = config;
        Network = network;
        _inputs = inputs;
        _labels = labels;
        _sequenceSize = network.InputSize;
        _batchInputs = new float[config.BatchSize * _sequenceSize];
        _batchLabels = new float[config.BatchSize];
        _logitGradient = new float[config.BatchSize];
        _order = new int[labels.Length];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _adam = new Adam(config.LearningRate);
        _shuffle = new Rng(config.Seed ^ 0xC0FFEEUL);
    }

    public ISingleInputNetwork Network { get; }

    /// <summary>
    /// Sets the gate biases of every LSTM layer (PyTorch's row order i, f, g, o): bias_ih rows [0, H) to
    /// <paramref name="input"/> and [H, 2H) to <paramref name="forget"/>, the same rows of bias_hh to 0. A forget gate
    /// that starts open (sigmoid(3) = 0.95) and an input gate that starts mostly closed (sigmoid(-3) = 0.05) let the cell
    /// carry its state across many steps from the first update on (a fixed-value form of the "chrono" initialization of
    /// Tallec and Ollivier, 2018; Jozefowicz et al., 2015, recommend a forget bias of 1).
    /// </summary>
    public static void SetLstmGateBiases(INetwork network, float input, float forget)
    {
        foreach (var p in network.Schema)
        {
            bool ih = p.Name.Contains(".bias_ih_l", StringComparison.Ordinal), hh = p.Name.Contains(".bias_hh_l", StringComparison.Ordinal);
            if (!ih && !hh) continue;
            int hidden = p.Length / 4;
            network.Parameters.Slice(p.Offset, hidden).Fill(ih ? input : 0f);
            network.Parameters.Slice(p.Offset + hidden, hidden).Fill(ih ? forget : 0f);
        }
    }

    /// <summary>One pass in a fresh order (the same order for every model of a seed); returns the mean loss.</summary>
    public double TrainEpoch()
    {
        _shuffle.Shuffle(_order);
        int b = _config.BatchSize, batches = _order.Length / b;
        double total = 0;
        for (int batch = 0; batch < batches; batch++)
        {
            for (int j = 0; j < b; j++)
            {
                int i = _order[batch * b + j];
                Array.Copy(_inputs, i * _sequenceSize, _batchInputs, j * _sequenceSize, _sequenceSize);
                _batchLabels[j] = _labels[i];
            }
            // TrainStep by hand, to clip the gradient's norm between Backward and the update.
            Network.ZeroGradients();
            var logits = Network.Forward(_batchInputs, b, training: true);
            total += Loss.BinaryCrossEntropyWithLogits.Compute(logits, _batchLabels, b, 1, _logitGradient);
            Network.Backward(_logitGradient.AsSpan(0, b), inputGradient: false);
            ClipGradientNorm(Network.Gradients, _config.ClipNorm);
            _adam.Step(Network.Parameters, Network.Gradients);
        }
        return total / Math.Max(1, batches);
    }

    /// <summary>Scales <paramref name="gradients"/> so that their L2 norm is at most <paramref name="maxNorm"/> (0: no clipping); returns the norm before.</summary>
    public static double ClipGradientNorm(Span<float> gradients, float maxNorm)
    {
        double sum = 0;
        foreach (float g in gradients) sum += (double)g * g;
        double norm = Math.Sqrt(sum);
        if (maxNorm > 0 && norm > maxNorm)
        {
            float scale = (float)(maxNorm / norm);
            foreach (ref float g in gradients) g *= scale;
        }
        return norm;
    }

    /// <summary>Fraction of <paramref name="labels"/> predicted right (logit > 0 means label 1).</summary>
    public static double Accuracy(ISingleInputNetwork network, float[] inputs, float[] labels)
    {
        int correct = 0, size = network.InputSize, capacity = network.Capacity;
        var batchInputs = new float[capacity * size];
        for (int start = 0; start < labels.Length; start += capacity)
        {
            int count = Math.Min(capacity, labels.Length - start);
            Array.Copy(inputs, start * size, batchInputs, 0, count * size);
            var logits = network.Forward(batchInputs, count);
            for (int j = 0; j < count; j++)
                if ((logits[j] > 0) == (labels[start + j] > 0.5f)) correct++;
        }
        return (double)correct / Math.Max(1, labels.Length);
    }
}
