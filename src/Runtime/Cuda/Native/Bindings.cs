using System;
using System.Runtime.InteropServices;

namespace NetGen.Cuda.Native;

// Raw bindings, one static class per library, named after the C functions they call. Every function returns the
// library's status code; wrap each call in that library's Check(status, "call") so a failure throws a
// CudaException with the library's own error string and the call that failed. The safe wrappers (SafeHandles,
// CudaDevice) are outside this folder. Library names are placeholders resolved by CudaLibraries.

/// <summary>A CUDA, cuBLAS, cuDNN or NVRTC call failed; the message has the library's error string and the call.</summary>
public sealed class CudaException : Exception
{
    public CudaException(CudaLibrary library, int status, string? errorString, string call)
        : base($"{call} failed in {library}: {(string.IsNullOrEmpty(errorString) ? "unknown error" : errorString)} (status {status})")
    {
        Library = library;
        Status = status;
        Call = call;
    }

    public CudaLibrary Library { get; }
    public int Status { get; }
    public string Call { get; }
}

/// <summary>The CUDA driver API (libcuda.so.1): only what the runtime API does not offer.</summary>
public static unsafe partial class CudaDriver
{
    static CudaDriver() => CudaLibraries.EnsureResolver();

    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuInit(uint flags);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDriverGetVersion(int* version);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDeviceGet(int* device, int ordinal);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGetErrorString(int status, byte** text);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuModuleLoadData(IntPtr* module, void* image);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuModuleUnload(IntPtr module);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuModuleGetFunction(IntPtr* function, IntPtr module, byte* name);
    /// <summary>Launches a kernel on a stream (a cudaStream_t is a CUstream); <paramref name="parameters"/> points at one pointer per kernel argument.</summary>
    [LibraryImport(CudaLibraries.DriverName)]
    public static partial int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, IntPtr stream, void** parameters, void** extra);

    public static void Check(int status, string call)
    {
        if (status == 0) return;
        byte* text = null;
        string? message = cuGetErrorString(status, &text) == 0 && text != null ? Marshal.PtrToStringUTF8((IntPtr)text) : null;
        throw new CudaException(CudaLibrary.Driver, status, message, call);
    }
}

/// <summary>The CUDA runtime API (libcudart).</summary>
public static unsafe partial class CudaRuntime
{
    static CudaRuntime() => CudaLibraries.EnsureResolver();

    public const int MemcpyHostToDevice = 1, MemcpyDeviceToHost = 2, MemcpyDeviceToDevice = 3;
    public const int AttributeMultiProcessorCount = 16, AttributeComputeCapabilityMajor = 75, AttributeComputeCapabilityMinor = 76;
    /// <summary>cudaStreamCaptureMode: global, thread-local (what NetGen uses: only this thread's calls are checked), relaxed.</summary>
    public const int StreamCaptureModeGlobal = 0, StreamCaptureModeThreadLocal = 1, StreamCaptureModeRelaxed = 2;
    /// <summary>cudaStreamNonBlocking: a stream that does not synchronise with the legacy default stream.</summary>
    public const uint StreamNonBlocking = 1;

    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaRuntimeGetVersion(int* version);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaGetDeviceCount(int* count);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaSetDevice(int device);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaDeviceGetAttribute(int* value, int attribute, int device);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaMemGetInfo(nuint* free, nuint* total);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaMalloc(void** pointer, nuint bytes);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaFree(void* pointer);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaMemcpy(void* destination, void* source, nuint bytes, int kind);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaMemset(void* pointer, int value, nuint bytes);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaDeviceSynchronize();
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaStreamCreate(IntPtr* stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaStreamDestroy(IntPtr stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaStreamSynchronize(IntPtr stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaEventCreate(IntPtr* evt);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaEventDestroy(IntPtr evt);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaEventRecord(IntPtr evt, IntPtr stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaEventSynchronize(IntPtr evt);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaEventElapsedTime(float* milliseconds, IntPtr start, IntPtr end);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaMemcpyAsync(void* destination, void* source, nuint bytes, int kind, IntPtr stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaMemsetAsync(void* pointer, int value, nuint bytes, IntPtr stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaStreamCreateWithFlags(IntPtr* stream, uint flags);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaStreamBeginCapture(IntPtr stream, int mode);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaStreamEndCapture(IntPtr stream, IntPtr* graph);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaGraphInstantiate(IntPtr* graphExec, IntPtr graph, ulong flags);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaGraphLaunch(IntPtr graphExec, IntPtr stream);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaGraphExecDestroy(IntPtr graphExec);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial int cudaGraphDestroy(IntPtr graph);
    [LibraryImport(CudaLibraries.RuntimeName)] public static partial byte* cudaGetErrorString(int status);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(CudaLibrary.Runtime, status, Marshal.PtrToStringUTF8((IntPtr)cudaGetErrorString(status)), call);
    }
}

/// <summary>cuBLAS (libcublas), column-major as the library is.</summary>
public static unsafe partial class Cublas
{
    static Cublas() => CudaLibraries.EnsureResolver();

    public const int OpN = 0, OpT = 1;
    /// <summary>cublasMath_t: default math (FP32 stays FP32), pedantic, and TF32 tensor cores (opt-in only).</summary>
    public const int DefaultMath = 0, PedanticMath = 2, Tf32TensorOpMath = 3;

    [LibraryImport(CudaLibraries.BlasName, EntryPoint = "cublasCreate_v2")] public static partial int cublasCreate(IntPtr* handle);
    [LibraryImport(CudaLibraries.BlasName, EntryPoint = "cublasDestroy_v2")] public static partial int cublasDestroy(IntPtr handle);
    [LibraryImport(CudaLibraries.BlasName, EntryPoint = "cublasGetVersion_v2")] public static partial int cublasGetVersion(IntPtr handle, int* version);
    [LibraryImport(CudaLibraries.BlasName, EntryPoint = "cublasSetStream_v2")] public static partial int cublasSetStream(IntPtr handle, IntPtr stream);
    [LibraryImport(CudaLibraries.BlasName)] public static partial int cublasSetMathMode(IntPtr handle, int mode);
    [LibraryImport(CudaLibraries.BlasName, EntryPoint = "cublasSgemm_v2")]
    public static partial int cublasSgemm(IntPtr handle, int transA, int transB, int m, int n, int k,
        float* alpha, float* a, int lda, float* b, int ldb, float* beta, float* c, int ldc);
    [LibraryImport(CudaLibraries.BlasName)] public static partial byte* cublasGetStatusString(int status);
    /// <summary>Gives cuBLAS its workspace, so nothing is allocated while a CUDA graph is captured.</summary>
    [LibraryImport(CudaLibraries.BlasName)] public static partial int cublasSetWorkspace_v2(IntPtr handle, void* workspace, nuint bytes);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(CudaLibrary.Blas, status, Marshal.PtrToStringUTF8((IntPtr)cublasGetStatusString(status)), call);
    }
}
