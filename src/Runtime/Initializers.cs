using System;

namespace NetGen;

/// <summary>Seeded weight initialisation schemes.</summary>
public static class Initializers
{
    /// <summary>Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)). Suits tanh and sigmoid.</summary>
    public static void XavierUniform(Span<float> weights, int fanIn, int fanOut, ref Rng rng)
    {
        float limit = MathF.Sqrt(6f / (fanIn + fanOut));
        for (int i = 0; i < weights.Length; i++) weights[i] = rng.NextUniform(-limit, limit);
    }

    /// <summary>He/Kaiming normal: N(0, 2 / fanIn). Suits ReLU.</summary>
    public static void HeNormal(Span<float> weights, int fanIn, ref Rng rng)
    {
        float std = MathF.Sqrt(2f / fanIn);
        for (int i = 0; i < weights.Length; i++) weights[i] = std * rng.NextGaussian();
    }

    /// <summary>U(-bound, bound): PyTorch's default for recurrent layers uses bound = 1/sqrt(hidden).</summary>
    public static void Uniform(Span<float> weights, float bound, ref Rng rng)
    {
        for (int i = 0; i < weights.Length; i++) weights[i] = rng.NextUniform(-bound, bound);
    }
}
