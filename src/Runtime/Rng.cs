using System;

namespace NetGen;

/// <summary>
/// Small, fast, seeded random number generator (xoshiro128** seeded through SplitMix64).
/// Deterministic across platforms and .NET versions, unlike <see cref="System.Random"/>'s
/// unspecified algorithm, so a seed reproduces the same initial weights and data order everywhere.
/// A mutable struct: pass it by reference.
/// </summary>
public struct Rng
{
    private uint _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        ulong z = seed;
        ulong a = SplitMix(ref z), b = SplitMix(ref z);
        _s0 = (uint)a; _s1 = (uint)(a >> 32); _s2 = (uint)b; _s3 = (uint)(b >> 32);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static uint Rotl(uint x, int k) => (x << k) | (x >> (32 - k));

    /// <summary>Next 32 random bits.</summary>
    public uint NextUInt()
    {
        uint result = Rotl(_s1 * 5, 7) * 9;
        uint t = _s1 << 9;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = Rotl(_s3, 11);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1.0f / 16777216.0f);

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble()
    {
        ulong x = ((ulong)NextUInt() << 32) | NextUInt();
        return (x >> 11) * (1.0 / 9007199254740992.0);
    }

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
        return (int)(((ulong)NextUInt() * (ulong)maxExclusive) >> 32);
    }

    /// <summary>Uniform in [low, high).</summary>
    public float NextUniform(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>Standard normal sample (Box-Muller).</summary>
    public float NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}
