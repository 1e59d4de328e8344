using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using NetGen.Cuda.Native;

namespace NetGen.Cuda;

/// <summary>
/// What one network instance holds on the GPU besides its arenas: device 0's stream, a cuDNN and a cuBLAS handle bound
/// to it, one convolution workspace (its size is the algorithm search's limit), and the network's kernels compiled by
/// NVRTC. Everything the generated CUDA code launches goes to <see cref="Stream"/>, in order, so a whole step can be
/// captured as one CUDA graph.
/// </summary>
public sealed unsafe class CudaContext : IDisposable, ICudaQueue
{
    private readonly DeviceBuffer _workspace;
    private readonly CudaStream _stream;
    private readonly CudnnHandle _dnn;
    private readonly CublasHandle _blas;
    private readonly CudaModule _module;
    private readonly DeviceBuffer _blasWorkspace;

    /// <param name="network">Network name, for messages.</param>
    /// <param name="kernelSource">The CUDA C the generator emitted for this network (compiled once, cached by hash).</param>
    /// <param name="allowTf32">Let cuBLAS and cuDNN use TF32 tensor cores (10-bit mantissa products); off keeps fp32.</param>
    /// <param name="workspaceBytes">Convolution workspace; algorithms that need more are not chosen.</param>
    public CudaContext(string network, string kernelSource, bool allowTf32, long workspaceBytes)
    {
        Network = network;
        AllowTf32 = allowTf32;
        CudaRuntime.Check(CudaRuntime.cudaSetDevice(0), "cudaSetDevice(0)");
        CudaRuntime.Check(CudaRuntime.cudaFree(null), "cudaFree(0) (creates the primary context)");
        _stream = CudaStream.Create();
        _dnn = CudnnHandle.Create();
        Cudnn.Check(Cudnn.cudnnSetStream(_dnn.Value, Stream), "cudnnSetStream");
        _blas = CublasHandle.Create();
        Cublas.Check(Cublas.cublasSetStream(_blas.Value, Stream), "cublasSetStream");
        Cublas.Check(Cublas.cublasSetMathMode(_blas.Value, allowTf32 ? Cublas.Tf32TensorOpMath : Cublas.DefaultMath), "cublasSetMathMode");
        // cuBLAS allocates its own workspace on first use unless given one; a graph capture must not allocate. 32 MiB is
        // what the cuBLAS documentation recommends for Hopper (less works, with fewer algorithms to choose from).
        _blasWorkspace = DeviceBuffer.Allocate(BlasWorkspaceBytes / 4);
        Cublas.Check(Cublas.cublasSetWorkspace_v2(_blas.Value, _blasWorkspace.Pointer, BlasWorkspaceBytes), "cublasSetWorkspace");
        WorkspaceBytes = Math.Max(256, workspaceBytes);
        _workspace = DeviceBuffer.Allocate(checked((int)((WorkspaceBytes + 3) / 4)));
        _module = CudaModule.Compile(kernelSource, network);
    }

    private const int BlasWorkspaceBytes = 32 << 20;

    public string Network { get; }
    public bool AllowTf32 { get; }
    public IntPtr Stream => _stream.Value;
    public IntPtr Dnn => _dnn.Value;
    public IntPtr Blas => _blas.Value;
    public void* Workspace => _workspace.Pointer;
    public long WorkspaceBytes { get; }

    /// <summary>cuDNN math type for convolutions: FMA only (exact fp32) unless TF32 is allowed.</summary>
    public int ConvolutionMathType => AllowTf32 ? Cudnn.DefaultMath : Cudnn.FmaMath;

    /// <summary>A kernel of this network's module, looked up once.</summary>
    public IntPtr Kernel(string name) => _module.Function(name);

    /// <summary>
    /// Launches a one-dimensional kernel over <paramref name="count"/> items (256 threads a block; kernels loop with a
    /// grid stride, so the grid is capped) on the stream. <paramref name="arguments"/> holds one pointer per argument.
    /// </summary>
    public void Launch(IntPtr kernel, long count, void** arguments, string name)
    {
        if (count <= 0) return;
        uint blocks = (uint)Math.Min((count + 255) / 256, 65535);
        CudaDriver.Check(CudaDriver.cuLaunchKernel(kernel, blocks, 1, 1, 256, 1, 1, 0, Stream, arguments, null), "cuLaunchKernel(" + name + ")");
    }

    public void CopyToDevice(nint device, ReadOnlySpan<float> host) => CopyToDevice((float*)device, host);

    public void CopyToHost(Span<float> host, nint device) => CopyToHost(host, (float*)device);

    public void Zero(nint device, long count) => Zero((float*)device, count);

    public void CopyToDevice(float* device, ReadOnlySpan<float> host)
    {
        fixed (float* source = host)
            CudaRuntime.Check(CudaRuntime.cudaMemcpyAsync(device, source, (nuint)host.Length * 4, CudaRuntime.MemcpyHostToDevice, Stream), "cudaMemcpyAsync(host to device)");
    }

    public void CopyToDevice(int* device, ReadOnlySpan<int> host)
    {
        fixed (int* source = host)
            CudaRuntime.Check(CudaRuntime.cudaMemcpyAsync(device, source, (nuint)host.Length * 4, CudaRuntime.MemcpyHostToDevice, Stream), "cudaMemcpyAsync(host to device)");
    }

    /// <summary>Copies device memory to the host and waits for the stream (everything queued before it finishes first).</summary>
    public void CopyToHost(Span<float> host, float* device)
    {
        fixed (float* destination = host)
            CudaRuntime.Check(CudaRuntime.cudaMemcpyAsync(destination, device, (nuint)host.Length * 4, CudaRuntime.MemcpyDeviceToHost, Stream), "cudaMemcpyAsync(device to host)");
        Synchronize();
    }

    /// <summary>
    /// Row-major SGEMM on the stream: c[m, n] = (or += when <paramref name="accumulate"/>) op(a) op(b), where a is stored
    /// [m, k] ([k, m] when <paramref name="transA"/>) and b [k, n] ([n, k] when <paramref name="transB"/>), densely.
    /// <paramref name="what"/> names the product in an error.
    /// </summary>
    public void Gemm(bool transA, bool transB, int m, int n, int k, nint a, nint b, nint c, bool accumulate, string what)
    {
        // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: a row-major matrix read column-major is its
        // transpose, so each operand keeps its own transpose flag and B comes first.
        float one = 1f, beta = accumulate ? 1f : 0f;
        Cublas.Check(Cublas.cublasSgemm(Blas, transB ? Cublas.OpT : Cublas.OpN, transA ? Cublas.OpT : Cublas.OpN, n, m, k,
            &one, (float*)b, transB ? k : n, (float*)a, transA ? m : k, &beta, (float*)c, n), what);
    }

    public void Zero(float* device, long count) =>
        CudaRuntime.Check(CudaRuntime.cudaMemsetAsync(device, 0, (nuint)count * 4, Stream), "cudaMemsetAsync");

    public void Synchronize() => CudaRuntime.Check(CudaRuntime.cudaStreamSynchronize(Stream), "cudaStreamSynchronize");

    /// <summary>Records everything <paramref name="body"/> queues on the stream as a graph, without running it.</summary>
    public CudaGraph Capture(Action body, string what)
    {
        CudaRuntime.Check(CudaRuntime.cudaStreamBeginCapture(Stream, CudaRuntime.StreamCaptureModeThreadLocal), "cudaStreamBeginCapture(" + what + ")");
        IntPtr graph;
        try
        {
            body();
        }
        catch
        {
            CudaRuntime.cudaStreamEndCapture(Stream, &graph);
            if (graph != IntPtr.Zero) CudaRuntime.cudaGraphDestroy(graph);
            throw;
        }
        CudaRuntime.Check(CudaRuntime.cudaStreamEndCapture(Stream, &graph), "cudaStreamEndCapture(" + what + ")");
        return CudaGraph.Instantiate(graph, what);
    }

    /// <summary>Replays a captured pass (every step: the message is built only on failure).</summary>
    public void Launch(CudaGraph graph)
    {
        int status = CudaRuntime.cudaGraphLaunch(graph.Value, Stream);
        if (status != 0) CudaRuntime.Check(status, "cudaGraphLaunch(" + graph.What + ")");
    }

    public void Dispose()
    {
        _module.Dispose();
        _workspace.Dispose();
        _blas.Dispose();          // before its workspace
        _blasWorkspace.Dispose();
        _dnn.Dispose();
        _stream.Dispose();
    }
}

/// <summary>A CUDA stream (non-blocking), destroyed when disposed or finalized.</summary>
public sealed unsafe class CudaStream : SafeHandle
{
    private CudaStream() : base(IntPtr.Zero, ownsHandle: true) { }

    public IntPtr Value => handle;
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static CudaStream Create()
    {
        var result = new CudaStream();
        IntPtr value;
        CudaRuntime.Check(CudaRuntime.cudaStreamCreateWithFlags(&value, CudaRuntime.StreamNonBlocking), "cudaStreamCreateWithFlags");
        result.SetHandle(value);
        return result;
    }

    protected override bool ReleaseHandle() => CudaRuntime.cudaStreamDestroy(handle) == 0;
}

/// <summary>A cuDNN handle, destroyed when disposed or finalized.</summary>
public sealed unsafe class CudnnHandle : SafeHandle
{
    private CudnnHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public IntPtr Value => handle;
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static CudnnHandle Create()
    {
        var result = new CudnnHandle();
        IntPtr value;
        Cudnn.Check(Cudnn.cudnnCreate(&value), "cudnnCreate");
        result.SetHandle(value);
        return result;
    }

    protected override bool ReleaseHandle() => Cudnn.cudnnDestroy(handle) == 0;
}

/// <summary>An instantiated CUDA graph (cudaGraphExec_t), destroyed with its graph when disposed or finalized.</summary>
public sealed unsafe class CudaGraph : SafeHandle
{
    private IntPtr _graph;

    private CudaGraph() : base(IntPtr.Zero, ownsHandle: true) { }

    public IntPtr Value => handle;
    public string What { get; private set; } = "";
    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static CudaGraph Instantiate(IntPtr graph, string what)
    {
        var result = new CudaGraph { _graph = graph, What = what };
        IntPtr exec;
        int status = CudaRuntime.cudaGraphInstantiate(&exec, graph, 0);
        if (status != 0)
        {
            CudaRuntime.cudaGraphDestroy(graph);
            CudaRuntime.Check(status, "cudaGraphInstantiate(" + what + ")");
        }
        result.SetHandle(exec);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        bool ok = CudaRuntime.cudaGraphExecDestroy(handle) == 0;
        return CudaRuntime.cudaGraphDestroy(_graph) == 0 && ok;
    }
}

/// <summary>
/// A cuDNN descriptor of any kind (tensor, filter, convolution, pooling, activation, LRN, dropout, RNN, RNN data), destroyed with the
/// matching cudnnDestroy*Descriptor when disposed or finalized.
/// </summary>
public sealed unsafe class CudnnDescriptor : SafeHandle
{
    public enum Kind { Tensor, Filter, Convolution, Pooling, Activation, Lrn, Dropout, Rnn, RnnData }

    private Kind _kind;

    private CudnnDescriptor() : base(IntPtr.Zero, ownsHandle: true) { }

    public IntPtr Value => handle;
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static CudnnDescriptor Create(Kind kind)
    {
        IntPtr value;
        int status = kind switch
        {
            Kind.Tensor => Cudnn.cudnnCreateTensorDescriptor(&value),
            Kind.Filter => Cudnn.cudnnCreateFilterDescriptor(&value),
            Kind.Convolution => Cudnn.cudnnCreateConvolutionDescriptor(&value),
            Kind.Pooling => Cudnn.cudnnCreatePoolingDescriptor(&value),
            Kind.Activation => Cudnn.cudnnCreateActivationDescriptor(&value),
            Kind.Lrn => Cudnn.cudnnCreateLRNDescriptor(&value),
            Kind.Dropout => Cudnn.cudnnCreateDropoutDescriptor(&value),
            Kind.Rnn => Cudnn.cudnnCreateRNNDescriptor(&value),
            _ => Cudnn.cudnnCreateRNNDataDescriptor(&value),
        };
        Cudnn.Check(status, "cudnnCreate" + kind + "Descriptor");
        var result = new CudnnDescriptor { _kind = kind };
        result.SetHandle(value);
        return result;
    }

    /// <summary>An fp32 NCHW tensor descriptor.</summary>
    public static CudnnDescriptor Tensor(int n, int c, int h, int w)
    {
        var d = Create(Kind.Tensor);
        Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(d.Value, Cudnn.TensorNchw, Cudnn.DataFloat, n, c, h, w), $"cudnnSetTensor4dDescriptor({n}x{c}x{h}x{w})");
        return d;
    }

    protected override bool ReleaseHandle() => (_kind switch
    {
        Kind.Tensor => Cudnn.cudnnDestroyTensorDescriptor(handle),
        Kind.Filter => Cudnn.cudnnDestroyFilterDescriptor(handle),
        Kind.Convolution => Cudnn.cudnnDestroyConvolutionDescriptor(handle),
        Kind.Pooling => Cudnn.cudnnDestroyPoolingDescriptor(handle),
        Kind.Activation => Cudnn.cudnnDestroyActivationDescriptor(handle),
        Kind.Lrn => Cudnn.cudnnDestroyLRNDescriptor(handle),
        Kind.Dropout => Cudnn.cudnnDestroyDropoutDescriptor(handle),
        Kind.Rnn => Cudnn.cudnnDestroyRNNDescriptor(handle),
        _ => Cudnn.cudnnDestroyRNNDataDescriptor(handle),
    }) == 0;
}

/// <summary>
/// What NVRTC compiles a network's kernels to. Normally a CUBIN for the device's own architecture (<c>sm_90</c>). When the
/// device is newer than this NVRTC knows (a new GPU with an older toolkit or wheel), PTX for the newest architecture it
/// does know at or below the device's (<c>compute_90</c>): PTX runs on every later architecture, after the driver
/// compiles it at load time. A device older than everything this NVRTC supports (CUDA 13 dropped Maxwell, Pascal and
/// Volta) gets an error that says so, instead of NVRTC's "invalid option".
/// </summary>
public readonly record struct NvrtcTarget(string Architecture, bool Ptx)
{
    /// <param name="device">The device's compute capability as major * 10 + minor (90 for 9.0).</param>
    /// <param name="supported">nvrtcGetSupportedArchs' list, or null where this NVRTC cannot say (before CUDA 11.2).</param>
    /// <param name="nvrtcVersion">For the error message, "13.0".</param>
    public static NvrtcTarget For(int device, int[]? supported, string nvrtcVersion)
    {
        if (supported is null || supported.Length == 0 || Array.IndexOf(supported, device) >= 0)
            return new NvrtcTarget($"sm_{device}", Ptx: false);
        int newest = -1;
        foreach (int architecture in supported)
            if (architecture <= device && architecture > newest) newest = architecture;
        if (newest < 0)
            throw new NotSupportedException(
                $"NVRTC {nvrtcVersion} cannot compile for this GPU (compute capability {device / 10}.{device % 10}, sm_{device}): " +
                $"it supports sm_{supported.Min()} to sm_{supported.Max()}. Use CUDA libraries that still support this GPU " +
                $"(point {CudaLibraries.PathVariable} at their folder), or run on the CPU (Backend.Cpu).");
        return new NvrtcTarget($"compute_{newest}", Ptx: true);
    }
}

/// <summary>
/// A CUBIN (or PTX, <see cref="NvrtcTarget"/>) compiled by NVRTC from CUDA C for the device, loaded with the driver.
/// Compilations are cached in the process and on disk (<c>$NETGEN_CUDA_CACHE</c>, else <c>~/.cache/netgen/cuda</c>) by a
/// hash of the source, the target and the NVRTC version, so a network's kernels compile once per machine.
/// </summary>
public sealed unsafe class CudaModule : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte[]> s_compiled = new();
    private IntPtr _module;
    private readonly ConcurrentDictionary<string, IntPtr> _functions = new();

    private CudaModule(IntPtr module) => _module = module;

    public static CudaModule Compile(string source, string name)
    {
        var (target, nvrtc) = DeviceTarget();
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{target.Architecture}\nnvrtc {nvrtc}\n{source}")))[..32];
        string file = key + (target.Ptx ? ".ptx" : ".cubin");
        byte[] image = s_compiled.GetOrAdd(key, _ => LoadCached(file) ?? Store(file, RunNvrtc(source, name, target)));
        IntPtr module;
        fixed (byte* data = image)
            CudaDriver.Check(CudaDriver.cuModuleLoadData(&module, data), $"cuModuleLoadData({name} kernels, {target.Architecture})");
        return new CudaModule(module);
    }

    private static readonly Lazy<(NvrtcTarget Target, string Nvrtc)> s_deviceTarget = new(() =>
    {
        int major, minor, rtcMajor, rtcMinor;
        CudaRuntime.Check(CudaRuntime.cudaDeviceGetAttribute(&major, CudaRuntime.AttributeComputeCapabilityMajor, 0), "cudaDeviceGetAttribute(major)");
        CudaRuntime.Check(CudaRuntime.cudaDeviceGetAttribute(&minor, CudaRuntime.AttributeComputeCapabilityMinor, 0), "cudaDeviceGetAttribute(minor)");
        Nvrtc.Check(Nvrtc.nvrtcVersion(&rtcMajor, &rtcMinor), "nvrtcVersion");
        string version = $"{rtcMajor}.{rtcMinor}";
        var target = NvrtcTarget.For(major * 10 + minor, SupportedArchitectures(), version);
        if (target.Ptx) // said once: this runs once per process
            Console.Error.WriteLine($"NetGen: NVRTC {version} does not know this GPU (sm_{major}{minor}); its kernels are compiled to PTX for {target.Architecture}, " +
                                    "which the driver compiles for the GPU when it loads them.");
        return (target, version);
    });

    /// <summary>
    /// What NVRTC compiles for on device 0 and NVRTC's version, once per process. Throws
    /// <see cref="NotSupportedException"/> when this NVRTC cannot compile for the device at all;
    /// <see cref="CudaBackend.Unavailable"/> asks first, so <see cref="Backend.Auto"/> falls back to the CPU then.
    /// </summary>
    public static (NvrtcTarget Target, string Nvrtc) DeviceTarget() => s_deviceTarget.Value;

    /// <summary>The architectures this NVRTC compiles for, or null where it cannot say (NVRTC before CUDA 11.2).</summary>
    private static int[]? SupportedArchitectures()
    {
        try
        {
            int count;
            if (Nvrtc.nvrtcGetNumSupportedArchs(&count) != 0 || count <= 0) return null;
            var architectures = new int[count];
            fixed (int* list = architectures)
                if (Nvrtc.nvrtcGetSupportedArchs(list) != 0) return null;
            return architectures;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    public IntPtr Function(string name) => _functions.GetOrAdd(name, n =>
    {
        IntPtr function;
        byte[] utf8 = Encoding.UTF8.GetBytes(n + "\0");
        fixed (byte* p = utf8)
            CudaDriver.Check(CudaDriver.cuModuleGetFunction(&function, _module, p), $"cuModuleGetFunction({n})");
        return function;
    });

    /// <summary>NVRTC: source to CUBIN or PTX, or a <see cref="CudaException"/> carrying the compiler's log.</summary>
    public static byte[] RunNvrtc(string source, string name, NvrtcTarget target)
    {
        string arch = target.Architecture;
        IntPtr program;
        byte[] src = Encoding.UTF8.GetBytes(source + "\0");
        byte[] file = Encoding.UTF8.GetBytes(name + ".cu\0");
        fixed (byte* s = src, f = file)
            Nvrtc.Check(Nvrtc.nvrtcCreateProgram(&program, s, f, 0, null, null), "nvrtcCreateProgram");
        try
        {
            string[] options = { "--gpu-architecture=" + arch, "--std=c++17", "--fmad=false" };
            var pinned = new GCHandle[options.Length];
            byte** pointers = stackalloc byte*[options.Length];
            try
            {
                for (int i = 0; i < options.Length; i++)
                {
                    pinned[i] = GCHandle.Alloc(Encoding.UTF8.GetBytes(options[i] + "\0"), GCHandleType.Pinned);
                    pointers[i] = (byte*)pinned[i].AddrOfPinnedObject();
                }
                int status = Nvrtc.nvrtcCompileProgram(program, options.Length, pointers);
                if (status != 0)
                {
                    nuint logBytes;
                    Nvrtc.nvrtcGetProgramLogSize(program, &logBytes);
                    var log = new byte[(int)logBytes + 1];
                    fixed (byte* l = log) Nvrtc.nvrtcGetProgramLog(program, l);
                    throw new CudaException(CudaLibrary.Rtc, status, Encoding.UTF8.GetString(log).TrimEnd('\0'), $"nvrtcCompileProgram({name}.cu, {arch})");
                }
            }
            finally
            {
                foreach (var h in pinned) if (h.IsAllocated) h.Free();
            }
            nuint bytes;
            if (target.Ptx)
            {
                // The size counts the terminating NUL, which cuModuleLoadData needs to read PTX text.
                Nvrtc.Check(Nvrtc.nvrtcGetPTXSize(program, &bytes), "nvrtcGetPTXSize");
                var ptx = new byte[(int)bytes];
                fixed (byte* p = ptx) Nvrtc.Check(Nvrtc.nvrtcGetPTX(program, p), "nvrtcGetPTX");
                return ptx;
            }
            Nvrtc.Check(Nvrtc.nvrtcGetCUBINSize(program, &bytes), "nvrtcGetCUBINSize");
            var cubin = new byte[(int)bytes];
            fixed (byte* c = cubin) Nvrtc.Check(Nvrtc.nvrtcGetCUBIN(program, c), "nvrtcGetCUBIN");
            return cubin;
        }
        finally
        {
            Nvrtc.nvrtcDestroyProgram(&program);
        }
    }

    /// <summary>The on-disk cache folder.</summary>
    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("NETGEN_CUDA_CACHE") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "netgen", "cuda");

    private static byte[]? LoadCached(string file)
    {
        try
        {
            string path = Path.Combine(CacheFolder, file);
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static byte[] Store(string file, byte[] image)
    {
        try
        {
            Directory.CreateDirectory(CacheFolder);
            string path = Path.Combine(CacheFolder, file);
            string temporary = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(temporary, image);
            File.Move(temporary, path, overwrite: true); // atomic: a reader sees the old file or the whole new one
        }
        catch (IOException) { /* a cache that cannot be written only costs a recompilation */ }
        catch (UnauthorizedAccessException) { }
        return image;
    }

    ~CudaModule() => Unload();

    public void Dispose()
    {
        Unload();
        GC.SuppressFinalize(this);
    }

    private void Unload()
    {
        IntPtr module = System.Threading.Interlocked.Exchange(ref _module, IntPtr.Zero);
        if (module == IntPtr.Zero) return;
        CudaRuntime.cudaFree(null); // binds the primary context to this thread (a finalizer runs on its own thread)
        CudaDriver.cuModuleUnload(module);
    }
}
