using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NetGen.Benchmarks;

/// <summary>
/// The OpenBLAS peer: <c>cblas_sgemm</c> from Debian's libopenblas0-pthread (OpenBLAS 0.3.21), called
/// through P/Invoke. <c>benchmarks/install-peers.sh</c> installs it. Program.cs removes OPENBLAS_CORETYPE and
/// OPENBLAS_L2_SIZE from the environment first: set on this machine, they force OpenBLAS's slower Haswell
/// kernels instead of its AVX-512 (SkylakeX/Cooperlake) ones.
/// </summary>
internal static unsafe class OpenBlas
{
    private static readonly string[] Candidates =
    {
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "libopenblas.so.0",
    };

    private static readonly IntPtr Handle = Load();
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm =
        Handle == IntPtr.Zero ? null : (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(Handle, "cblas_sgemm");
    private static readonly delegate* unmanaged<int, void> SetThreads =
        Handle == IntPtr.Zero ? null : (delegate* unmanaged<int, void>)NativeLibrary.GetExport(Handle, "openblas_set_num_threads");
    private static readonly delegate* unmanaged<byte*> GetCoreName =
        Handle == IntPtr.Zero ? null : (delegate* unmanaged<byte*>)NativeLibrary.GetExport(Handle, "openblas_get_corename");

    public static string? LoadedFrom { get; private set; }

    public static bool Available => Handle != IntPtr.Zero;

    /// <summary>Which kernels OpenBLAS picked (e.g. "SkylakeX" or "Cooperlake" for AVX-512, "Haswell" for AVX2).</summary>
    public static string CoreName => GetCoreName == null ? "?" : Marshal.PtrToStringAnsi((IntPtr)GetCoreName()) ?? "?";

    public static string Describe() => Available
        ? $"OpenBLAS from {LoadedFrom}, kernels: {CoreName}"
        : "OpenBLAS not found (run benchmarks/install-peers.sh as root); searched: " + string.Join(", ", Candidates);

    private static IntPtr Load()
    {
        foreach (var path in Candidates)
        {
            if (path.StartsWith('/') && !File.Exists(path)) continue;
            if (NativeLibrary.TryLoad(path, out var handle))
            {
                LoadedFrom = path;
                return handle;
            }
        }
        return IntPtr.Zero;
    }

    public static void Threads(int count)
    {
        if (SetThreads != null) SetThreads(count);
    }

    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>C[m,n] = op(A) * op(B) (+ C when accumulate), contiguous row-major, as NetGen's Gemm.Multiply.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float* a, float* b, float* c, bool accumulate)
    {
        if (Sgemm == null) throw new InvalidOperationException(Describe());
        Sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, 1f,
            a, transA ? m : k, b, transB ? k : n, accumulate ? 1f : 0f, c, n);
    }
}
