using System;
using System.Runtime.InteropServices;
using NetGen.Cuda.Native;

namespace NetGen.Cuda;

/// <summary>What <see cref="CudaDevice.Probe"/> found: a usable GPU, or why there is none.</summary>
/// <param name="Available">True when the driver, the runtime and at least one device answered.</param>
/// <param name="Reason">Why not (empty when available): the library that is missing and where it was looked for, or the CUDA error.</param>
public sealed record CudaProbe(bool Available, string Reason, int DeviceCount, string DeviceName, int ComputeMajor, int ComputeMinor,
    long MemoryBytes, int DriverVersion, int RuntimeVersion, string? RuntimePath)
{
    /// <summary>One line for logs and skipped tests: the device, or "skipped: no CUDA device (...)".</summary>
    public override string ToString() => Available
        ? $"{DeviceName} (compute {ComputeMajor}.{ComputeMinor}, {MemoryBytes / (1L << 30)} GiB), {DeviceCount} device(s), driver {Version(DriverVersion)}, runtime {Version(RuntimeVersion)} from {RuntimePath}"
        : "skipped: no CUDA device (" + Reason + ")";

    private static string Version(int v) => $"{v / 1000}.{v % 1000 / 10}";
}

/// <summary>
/// Device discovery and the few device operations the GPU self-check needs. The generated CUDA code of the CUDA
/// issue builds on <see cref="Native"/>; nothing here is used by the CPU path.
/// </summary>
public static unsafe class CudaDevice
{
    /// <summary>Looks for the driver, the runtime and device 0, without throwing.</summary>
    public static CudaProbe Probe()
    {
        var none = new CudaProbe(false, "", 0, "", 0, 0, 0, 0, 0, null);
        try
        {
            if (!CudaLibraries.TryLoad(CudaLibrary.Driver, out _))
                return none with { Reason = CudaLibraries.NotFound(CudaLibrary.Driver).Message };
            if (!CudaLibraries.TryLoad(CudaLibrary.Runtime, out string? runtimePath))
                return none with { Reason = CudaLibraries.NotFound(CudaLibrary.Runtime).Message };
            int count, driver, runtime, major, minor, device;
            CudaDriver.Check(CudaDriver.cuInit(0), "cuInit(0)");
            CudaDriver.Check(CudaDriver.cuDriverGetVersion(&driver), "cuDriverGetVersion");
            CudaRuntime.Check(CudaRuntime.cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
            CudaRuntime.Check(CudaRuntime.cudaGetDeviceCount(&count), "cudaGetDeviceCount");
            if (count == 0) return none with { Reason = "the CUDA driver reports no device", DriverVersion = driver, RuntimeVersion = runtime, RuntimePath = runtimePath };
            CudaRuntime.Check(CudaRuntime.cudaSetDevice(0), "cudaSetDevice(0)");
            CudaRuntime.Check(CudaRuntime.cudaDeviceGetAttribute(&major, CudaRuntime.AttributeComputeCapabilityMajor, 0), "cudaDeviceGetAttribute(major)");
            CudaRuntime.Check(CudaRuntime.cudaDeviceGetAttribute(&minor, CudaRuntime.AttributeComputeCapabilityMinor, 0), "cudaDeviceGetAttribute(minor)");
            nuint free, total;
            CudaRuntime.Check(CudaRuntime.cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
            byte* name = stackalloc byte[256];
            CudaDriver.Check(CudaDriver.cuDeviceGet(&device, 0), "cuDeviceGet(0)");
            CudaDriver.Check(CudaDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
            return new CudaProbe(true, "", count, Marshal.PtrToStringUTF8((IntPtr)name) ?? "?", major, minor, (long)total, driver, runtime, runtimePath);
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            return none with { Reason = e.Message };
        }
    }

    /// <summary>
    /// C[m,n] = A[m,k] * B[k,n] (row-major, like <see cref="Cpu.Gemm"/>) on device 0 with cuBLAS: the operands are
    /// copied in, the product runs as C^T = B^T A^T in cuBLAS's column-major terms, and C is copied back. TF32 is off
    /// unless <paramref name="allowTf32"/>. Throws <see cref="CudaException"/> or <see cref="CudaNotFoundException"/>.
    /// </summary>
    public static void Sgemm(int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool allowTf32 = false)
    {
        if (m <= 0 || n <= 0 || k <= 0) throw new ArgumentOutOfRangeException(nameof(m), "m, n and k must be positive.");
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n) throw new ArgumentException("An operand is shorter than its m, n, k shape.");
        using var da = DeviceBuffer.Upload(a.Slice(0, m * k));
        using var db = DeviceBuffer.Upload(b.Slice(0, k * n));
        using var dc = DeviceBuffer.Allocate(m * n);
        using var blas = CublasHandle.Create();
        Cublas.Check(Cublas.cublasSetMathMode(blas.Value, allowTf32 ? Cublas.Tf32TensorOpMath : Cublas.DefaultMath), "cublasSetMathMode");
        float alpha = 1f, beta = 0f;
        Cublas.Check(Cublas.cublasSgemm(blas.Value, Cublas.OpN, Cublas.OpN, n, m, k, &alpha, db.Pointer, n, da.Pointer, k, &beta, dc.Pointer, n),
            $"cublasSgemm({m}x{n}x{k})");
        CudaRuntime.Check(CudaRuntime.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        dc.Download(c.Slice(0, m * n));
    }
}

/// <summary>Device memory (cudaMalloc), freed by cudaFree when disposed or finalized.</summary>
public sealed unsafe class DeviceBuffer : SafeHandle
{
    private DeviceBuffer() : base(IntPtr.Zero, ownsHandle: true) { }

    public long Count { get; private set; }
    public float* Pointer => (float*)handle;

    /// <summary>The device address of float <paramref name="offset"/> (what the generated CUDA code passes around).</summary>
    public nint At(long offset) => offset >= 0 && offset <= Count ? handle + (nint)(offset * sizeof(float)) : throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Offset outside a {Count}-float device buffer.");
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static DeviceBuffer Allocate(long count)
    {
        var buffer = new DeviceBuffer { Count = count };
        void* pointer;
        CudaRuntime.Check(CudaRuntime.cudaMalloc(&pointer, (nuint)count * sizeof(float)), $"cudaMalloc({count} floats)");
        buffer.SetHandle((IntPtr)pointer);
        return buffer;
    }

    public static DeviceBuffer Upload(ReadOnlySpan<float> values)
    {
        var buffer = Allocate(values.Length);
        fixed (float* source = values)
            CudaRuntime.Check(CudaRuntime.cudaMemcpy(buffer.Pointer, source, (nuint)values.Length * sizeof(float), CudaRuntime.MemcpyHostToDevice), "cudaMemcpy(host to device)");
        return buffer;
    }

    public void Download(Span<float> values)
    {
        if (values.Length > Count) throw new ArgumentException($"Asked for {values.Length} floats of a {Count}-float buffer.", nameof(values));
        fixed (float* destination = values)
            CudaRuntime.Check(CudaRuntime.cudaMemcpy(destination, Pointer, (nuint)values.Length * sizeof(float), CudaRuntime.MemcpyDeviceToHost), "cudaMemcpy(device to host)");
    }

    protected override bool ReleaseHandle() => CudaRuntime.cudaFree((void*)handle) == 0;
}

/// <summary>A cuBLAS handle, destroyed when disposed or finalized.</summary>
public sealed unsafe class CublasHandle : SafeHandle
{
    private CublasHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public IntPtr Value => handle;
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static CublasHandle Create()
    {
        var result = new CublasHandle();
        IntPtr value;
        Cublas.Check(Cublas.cublasCreate(&value), "cublasCreate");
        result.SetHandle(value);
        return result;
    }

    protected override bool ReleaseHandle() => Cublas.cublasDestroy(handle) == 0;
}
