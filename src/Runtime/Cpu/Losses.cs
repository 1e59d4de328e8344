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
        Guard.EmptyOrAtLeast(dLogits.Length, (long)batch * classes, nameof(dLogits));
        CheckLabels(labels, batch, classes);

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

    /// <summary>The checks every element-wise loss makes; returns batch * features.</summary>
    private static int CheckElementwise(int outputLength, int targetLength, int gradientLength, int batch, int features,
        string outputName, string targetName, string gradientName)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(features, nameof(features));
        int count = checked(batch * features);
        Guard.AtLeast(outputLength, count, outputName);
        Guard.AtLeast(targetLength, count, targetName);
        Guard.EmptyOrAtLeast(gradientLength, count, gradientName);
        return count;
    }

    /// <summary>Mean over batch*features of (output - target)^2 (PyTorch MSELoss 'mean'); dOutput = 2 (output - target) / (batch*features).</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> output /*[batch, features]*/, ReadOnlySpan<float> target /*[batch, features]*/,
        int batch, int features, Span<float> dOutput /*[batch, features] or empty*/)
    {
        int count = CheckElementwise(output.Length, target.Length, dOutput.Length, batch, features, nameof(output), nameof(target), nameof(dOutput));

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

    /// <summary>
    /// Binary cross entropy on raw logits (PyTorch BCEWithLogitsLoss, reduction 'mean', no weights): the mean over all
    /// batch*features elements of max(x, 0) - x t + log(1 + exp(-|x|)) (= -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))],
    /// finite for any finite logit); dLogits = (sigmoid(x) - t) / (batch*features). Targets are usually in [0, 1]
    /// (soft labels allowed). The network should not end in Sigmoid.
    /// </summary>
    public static float BinaryCrossEntropyWithLogits(ReadOnlySpan<float> logits /*[batch, features]*/, ReadOnlySpan<float> targets /*[batch, features]*/,
        int batch, int features, Span<float> gradient /*[batch, features] or empty*/)
    {
        int count = CheckElementwise(logits.Length, targets.Length, gradient.Length, batch, features, nameof(logits), nameof(targets), nameof(gradient));

        bool wantGradient = gradient.Length != 0;
        double invCount = 1.0 / count;
        double total = 0.0;
        for (int i = 0; i < count; i++)
        {
            double x = logits[i], t = targets[i];
            double e = Math.Exp(-Math.Abs(x));                         // in (0, 1]: never overflows
            double softplus = e < 1e-5 ? e * (1.0 - 0.5 * e) : Math.Log(1.0 + e);   // log1p(e), accurate for tiny e
            total += Math.Max(x, 0.0) - x * t + softplus;
            if (wantGradient)
            {
                double sigmoid = x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                gradient[i] = (float)((sigmoid - t) * invCount);
            }
        }
        return (float)(total * invCount);
    }

    /// <summary>
    /// Mean absolute error over batch*features (PyTorch L1Loss 'mean'); dOutput = sign(output - target) / (batch*features),
    /// 0 where output == target (PyTorch's sign(0) = 0; also 0 for a NaN difference, whose loss is NaN).
    /// </summary>
    public static float L1(ReadOnlySpan<float> output /*[batch, features]*/, ReadOnlySpan<float> target /*[batch, features]*/,
        int batch, int features, Span<float> dOutput /*[batch, features] or empty*/)
    {
        int count = CheckElementwise(output.Length, target.Length, dOutput.Length, batch, features, nameof(output), nameof(target), nameof(dOutput));

        bool wantGradient = dOutput.Length != 0;
        float gradScale = 1f / count;
        double total = 0.0;
        for (int i = 0; i < count; i++)
        {
            float diff = output[i] - target[i];
            total += Math.Abs((double)diff);
            if (wantGradient) dOutput[i] = diff > 0f ? gradScale : diff < 0f ? -gradScale : 0f;
        }
        return (float)(total / count);
    }

    /// <summary>
    /// VAE regulariser: KL(N(mean, exp(logVar)) || N(0, I)) per sample, averaged over the batch:
    /// returns (1/batch) sum_b [-0.5 sum_j (1 + logVar[b,j] - mean[b,j]^2 - exp(logVar[b,j]))] (summed over the
    /// latent dimensions, averaged over the batch, NOT multiplied by <paramref name="scale"/>; PyTorch:
    /// (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)).mean()).
    /// OVERWRITES dMean = scale * mean / batch and dLogVar = scale * 0.5 (exp(logVar) - 1) / batch, the gradients of
    /// scale * (returned value); either span may be empty to skip it. Add them into the encoder's gradients with
    /// <see cref="Elementwise.Axpy"/> or <see cref="Elementwise.CopyOrAdd"/> when the same tensors also get a reconstruction gradient.
    /// </summary>
    public static float KlDivergenceToStandardNormal(ReadOnlySpan<float> mean /*[batch, latent]*/, ReadOnlySpan<float> logVar /*[batch, latent]*/,
        int batch, int latent, Span<float> dMean /*[batch, latent] or empty*/, Span<float> dLogVar /*[batch, latent] or empty*/, float scale = 1f)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(latent, nameof(latent));
        int count = checked(batch * latent);
        Guard.AtLeast(mean.Length, count, nameof(mean));
        Guard.AtLeast(logVar.Length, count, nameof(logVar));
        Guard.EmptyOrAtLeast(dMean.Length, count, nameof(dMean));
        Guard.EmptyOrAtLeast(dLogVar.Length, count, nameof(dLogVar));

        bool wantMean = dMean.Length != 0, wantLogVar = dLogVar.Length != 0;
        double gradScale = (double)scale / batch;
        double total = 0.0;
        for (int i = 0; i < count; i++)
        {
            double mu = mean[i], lv = logVar[i];
            double variance = Math.Exp(lv);
            total += -0.5 * (1.0 + lv - mu * mu - variance);
            if (wantMean) dMean[i] = (float)(gradScale * mu);
            if (wantLogVar) dLogVar[i] = (float)(gradScale * 0.5 * (variance - 1.0));
        }
        return (float)(total / batch);
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

    /// <summary>At least <paramref name="batch"/> labels, each in [0, classes): what every class-label loss (CPU or CUDA) checks first.</summary>
    internal static void CheckLabels(ReadOnlySpan<int> labels, int batch, int classes)
    {
        Guard.AtLeast(labels.Length, batch, nameof(labels));
        for (int b = 0; b < batch; b++)
        {
            int label = labels[b];
            if ((uint)label >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), label,
                    $"Label at row {b} is {label}, outside the valid range [0, {classes - 1}] for {classes} classes.");
        }
    }
}
