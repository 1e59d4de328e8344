using System;
using NetGen.Cpu;

namespace NetGen;

/// <summary>
/// A training loss: computes the mean loss of a batch and writes d(loss)/d(output) (overwriting).
/// Class-label targets and float targets are separate overloads; a loss that does not support one
/// says so in its exception.
/// </summary>
public abstract class Loss
{
    /// <summary>Softmax followed by cross-entropy, on raw logits (the network should not end in Softmax).</summary>
    public static Loss SoftmaxCrossEntropy { get; } = new SoftmaxCrossEntropyLoss();

    /// <summary>Mean squared error over every output element (PyTorch MSELoss, reduction 'mean').</summary>
    public static Loss MeanSquaredError { get; } = new MeanSquaredErrorLoss();

    /// <summary>
    /// Sigmoid followed by binary cross entropy, on raw logits, averaged over every output element (PyTorch
    /// BCEWithLogitsLoss, reduction 'mean'); targets in [0, 1]. The network should not end in Sigmoid.
    /// </summary>
    public static Loss BinaryCrossEntropyWithLogits { get; } = new BinaryCrossEntropyWithLogitsLoss();

    /// <summary>Mean absolute error over every output element (PyTorch L1Loss, reduction 'mean').</summary>
    public static Loss L1 { get; } = new L1Loss();

    /// <summary>Name for messages.</summary>
    public abstract string Name { get; }

    /// <summary>Loss against class labels (one int per sample).</summary>
    public virtual float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient) =>
        throw new NotSupportedException($"{Name} needs float targets, not class labels; pass a ReadOnlySpan<float> of [batch x {features}] targets.");

    /// <summary>Loss against float targets ([batch x features]).</summary>
    public abstract float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient);

    public override string ToString() => Name;

    private sealed class SoftmaxCrossEntropyLoss : Loss
    {
        public override string Name => "SoftmaxCrossEntropy";

        public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient) =>
            Losses.SoftmaxCrossEntropy(output.Slice(0, batch * features), labels.Slice(0, Math.Min(labels.Length, batch)), batch, features, outputGradient);

        public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient) =>
            Losses.SoftmaxCrossEntropy(output.Slice(0, batch * features), targets.Slice(0, Math.Min(targets.Length, batch * features)), batch, features, outputGradient);
    }

    private sealed class BinaryCrossEntropyWithLogitsLoss : Loss
    {
        public override string Name => "BinaryCrossEntropyWithLogits";

        public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient) =>
            Losses.BinaryCrossEntropyWithLogits(output.Slice(0, batch * features), targets.Slice(0, Math.Min(targets.Length, batch * features)), batch, features, outputGradient);
    }

    private sealed class L1Loss : Loss
    {
        public override string Name => "L1";

        public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient) =>
            Losses.L1(output.Slice(0, batch * features), targets.Slice(0, Math.Min(targets.Length, batch * features)), batch, features, outputGradient);
    }

    private sealed class MeanSquaredErrorLoss : Loss
    {
        public override string Name => "MeanSquaredError";

        public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient) =>
            Losses.MeanSquaredError(output.Slice(0, batch * features), targets.Slice(0, Math.Min(targets.Length, batch * features)), batch, features, outputGradient);
    }
}
