using System;

namespace NetGen.Cpu;

/// <summary>
/// Loss functions. Each returns the MEAN loss and overwrites the gradient span with
/// d(mean loss)/d(input). The gradient span may be empty to compute the loss only (evaluation).
/// Scalar code: the work is O(batch * classes), negligible next to the layers.
/// </summary>
public static class Losses
{
    /// <summary>
    /// Mean over the batch of -log softmax(logits[b])[labels[b]]; dLogits = (softmax - onehot) / batch.
    /// Log-softmax is computed stably as x - (max + log(sum(exp(x - max)))).
    /// </summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits /*[batch, classes]*/, ReadOnlySpan<int> labels /*[batch]*/,
        int batch, int classes, Span<float> dLogits /*[batch, classes] or empty*/)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(classes, nameof(classes));
        Guard.AtLeast(logits.Length, (long)batch * classes, nameof(logits));
        Guard.AtLeast(labels.Length, batch, nameof(labels));
        Guard.EmptyOrAtLeast(dLogits.Length, (long)batch * classes, nameof(dLogits));
        for (int b = 0; b < batch; b++)
        {
            int label = labels[b];
            if ((uint)label >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), label,
                    $"Label at row {b} is {label}, outside the valid range [0, {classes - 1}] for {classes} classes.");
        }

        bool wantGradient = dLogits.Length != 0;
        float invBatch = 1f / batch;
        double total = 0.0;
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = logits.Slice(b * classes, classes);
            float max = RowMax(x);
            float sum = 0f;
            for (int c = 0; c < classes; c++) sum += MathF.Exp(x[c] - max);
            float logSumExp = max + MathF.Log(sum);
            int label = labels[b];
            total += logSumExp - x[label];

            if (wantGradient)
            {
                Span<float> dx = dLogits.Slice(b * classes, classes);
                float invSum = 1f / sum;
                for (int c = 0; c < classes; c++)
                {
                    float p = MathF.Exp(x[c] - max) * invSum;
                    dx[c] = (p - (c == label ? 1f : 0f)) * invBatch;
                }
            }
        }
        return (float)(total / batch);
    }

    /// <summary>
    /// Soft-target cross entropy: mean over the batch of -sum_c targets[b,c] * log softmax(logits[b])[c];
    /// dLogits = (softmax * sum_c targets[b,c] - targets) / batch (= (softmax - targets) / batch for probability rows).
    /// </summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits /*[batch, classes]*/, ReadOnlySpan<float> targets /*[batch, classes] probabilities*/,
        int batch, int classes, Span<float> dLogits /*[batch, classes] or empty*/)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(classes, nameof(classes));
        Guard.AtLeast(logits.Length, (long)batch * classes, nameof(logits));
        Guard.AtLeast(targets.Length, (long)batch * classes, nameof(targets));
        Guard.EmptyOrAtLeast(dLogits.Length, (long)batch * classes, nameof(dLogits));

        bool wantGradient = dLogits.Length != 0;
        float invBatch = 1f / batch;
        double total = 0.0;
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = logits.Slice(b * classes, classes);
            ReadOnlySpan<float> t = targets.Slice(b * classes, classes);
            float max = RowMax(x);
            float sum = 0f;
            for (int c = 0; c < classes; c++) sum += MathF.Exp(x[c] - max);
            float logSumExp = max + MathF.Log(sum);
            float targetSum = 0f;
            for (int c = 0; c < classes; c++)
            {
                total += (double)t[c] * (logSumExp - x[c]);   // -t * log_softmax; finite even where t = 0
                targetSum += t[c];
            }

            if (wantGradient)
            {
                Span<float> dx = dLogits.Slice(b * classes, classes);
                float invSum = 1f / sum;
                for (int c = 0; c < classes; c++)
                {
                    float p = MathF.Exp(x[c] - max) * invSum;
                    dx[c] = (p * targetSum - t[c]) * invBatch;
                }
            }
        }
        return (float)(total / batch);
    }

    /// <summary>Mean over batch*features of (output - target)^2 (PyTorch MSELoss 'mean'); dOutput = 2 (output - target) / (batch*features).</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> output /*[batch, features]*/, ReadOnlySpan<float> target /*[batch, features]*/,
        int batch, int features, Span<float> dOutput /*[batch, features] or empty*/)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(features, nameof(features));
        int count = checked(batch * features);
        Guard.AtLeast(output.Length, count, nameof(output));
        Guard.AtLeast(target.Length, count, nameof(target));
        Guard.EmptyOrAtLeast(dOutput.Length, count, nameof(dOutput));

        bool wantGradient = dOutput.Length != 0;
        float gradScale = 2f / count;
        double total = 0.0;
        for (int i = 0; i < count; i++)
        {
            float diff = output[i] - target[i];
            total += (double)diff * diff;
            if (wantGradient) dOutput[i] = gradScale * diff;
        }
        return (float)(total / count);
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> row)
    {
        if (row.IsEmpty) throw new ArgumentException("ArgMax of an empty row is undefined.", nameof(row));
        int best = 0;
        float max = row[0];
        for (int i = 1; i < row.Length; i++)
        {
            if (row[i] > max) { max = row[i]; best = i; }
        }
        return best;
    }

    private static float RowMax(ReadOnlySpan<float> x)
    {
        float max = x[0];
        for (int c = 1; c < x.Length; c++) max = MathF.Max(max, x[c]);
        return max;
    }
}
