using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// Eight floats a fixed stride apart, for the kernels that walk a strided window (max pooling, im2col of a strided
/// convolution). AVX2 only: callers check <see cref="Avx2.IsSupported"/> and keep a scalar loop otherwise.
/// </summary>
internal static unsafe class StridedLoad
{
    /// <summary>The gather offsets 0, s, ..., 7s (only used for strides other than 1 and 2).</summary>
    public static Vector256<int> Lanes(int stride)
        => Avx2.IsSupported ? Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * stride : default;

    /// <summary>p[0], p[s], ..., p[7s]: one load (stride 1), two loads and a shuffle (stride 2), else a gather; never reads past p[7s].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Eight(float* p, int stride, Vector256<int> lanes)
    {
        if (stride == 1) return Avx.LoadVector256(p);
        if (stride == 2)
        {
            // the even elements of p[0..8) and the odd ones of p[7..15), i.e. p[8], p[10], p[12], p[14], per 128-bit half, then the halves in order
            Vector256<float> pairs = Avx.Shuffle(Avx.LoadVector256(p), Avx.LoadVector256(p + 7), 0xD8);
            return Avx2.Permute4x64(pairs.AsDouble(), 0xD8).AsSingle();
        }
        return Avx2.GatherVector256(p, lanes, 4);
    }
}
