using System;

namespace NetGen.Cpu;

/// <summary>
/// Splits a long elementwise pass (an activation over a whole batch) into pieces on the worker pool. Every element is
/// computed by the same formula wherever a piece starts, so the result does not depend on the split or the thread count.
/// </summary>
internal static unsafe class ElementwiseParallel
{
    /// <summary>Passes shorter than this run on the calling thread (waking the pool costs more than it saves).</summary>
    internal const int MinElements = 1 << 15;
    private const int MaxPieces = 8;

    /// <summary>kernel(p0 + i, p1 + i, p2 + i, length, flag) over pieces [i, i + length) covering [0, count); null pointers stay null.</summary>
    public static void Run(int count, delegate*<float*, float*, float*, int, bool, void> kernel, float* p0, float* p1, float* p2, bool flag)
    {
        if (count < MinElements || WorkerPool.ThreadCount == 1)
        {
            kernel(p0, p1, p2, count, flag);
            return;
        }
        int pieces = Math.Min(MaxPieces, count / (MinElements / 2));
        WorkerPool.For(pieces, new Piece { Count = count, Pieces = pieces, Kernel = kernel, P0 = p0, P1 = p1, P2 = p2, Flag = flag });
    }

    private struct Piece : IParallelBody
    {
        public int Count, Pieces;
        public delegate*<float*, float*, float*, int, bool, void> Kernel;
        public float* P0, P1, P2;
        public bool Flag;

        public readonly void Invoke(int piece)
        {
            // boundaries on multiples of 64 floats (whole cache lines and whole vectors)
            int start = (int)((long)Count * piece / Pieces) & ~63, end = piece == Pieces - 1 ? Count : (int)((long)Count * (piece + 1) / Pieces) & ~63;
            if (end <= start) return;
            Kernel(P0 == null ? null : P0 + start, P1 == null ? null : P1 + start, P2 == null ? null : P2 + start, end - start, Flag);
        }
    }
}
