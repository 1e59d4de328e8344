using System;
using NetGen.Data;

namespace NetGen;

/// <summary>Evaluation helpers over generated networks.</summary>
public static class Metrics
{
    /// <summary>
    /// Fraction of samples whose largest output is the label, computed in inference mode in batches of
    /// the network's capacity. Allocates nothing.
    /// </summary>
    public static double Accuracy(ISingleInputNetwork network, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"The data set has {data.SampleSize} floats per sample but the network expects {network.InputSize}.", nameof(data));
        int correct = 0;
        int outputs = network.OutputSize;
        for (int start = 0; start < data.Count; start += network.Capacity)
        {
            int batch = Math.Min(network.Capacity, data.Count - start);
            var output = network.Forward(data.Features.AsSpan(start * data.SampleSize, batch * data.SampleSize), batch);
            for (int i = 0; i < batch; i++)
                if (NetGen.Cpu.Losses.ArgMax(output.Slice(i * outputs, outputs)) == data.Labels[start + i]) correct++;
        }
        return data.Count == 0 ? 0 : (double)correct / data.Count;
    }
}
