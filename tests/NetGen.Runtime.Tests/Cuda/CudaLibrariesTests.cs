using System;
using System.IO;
using System.Linq;
using NetGen.Cpu;
using NetGen.Cuda;
using NetGen.Cuda.Native;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Runtime.Tests;

/// <summary>Library discovery and the CUDA error paths, which run on every machine; the device tests skip visibly without a GPU.</summary>
public class CudaLibrariesTests(ITestOutputHelper output)
{
    [Fact]
    public void Candidates_are_standard_locations_then_python_wheels_then_NETGEN_CUDA_PATH()
    {
        string site = "/venv/lib/python3.12/site-packages";
        var candidates = CudaLibraries.Candidates(CudaLibrary.Blas, "/opt/mycuda:/second", new[] { site });
        int Index(string path)
        {
            int i = candidates.IndexOf(path);
            Assert.True(i >= 0, $"{path} is not a candidate:\n{string.Join("\n", candidates)}");
            return i;
        }
        // bare names first (the system loader: LD_LIBRARY_PATH, ldconfig), newest major version first
        Assert.Equal("libcublas.so.13", candidates[0]);
        Assert.Equal("libcublas.so.12", candidates[1]);
        int toolkit = Index("/usr/local/cuda/lib64/libcublas.so.12");
        int wheel = Index(site + "/nvidia/cublas/lib/libcublas.so.12");
        int custom = Index("/opt/mycuda/libcublas.so.12");
        Assert.True(toolkit < wheel && wheel < custom, $"order: toolkit {toolkit}, wheel {wheel}, NETGEN_CUDA_PATH {custom}");
        Index("/opt/mycuda/lib64/libcublas.so.12");
        Index("/second/lib/libcublas.so.13");
        Assert.Equal(candidates.Count, candidates.Distinct().Count());

        // the driver never comes from a wheel
        Assert.DoesNotContain(CudaLibraries.Candidates(CudaLibrary.Driver, null, new[] { site }), p => p.Contains("site-packages"));
        // cuDNN's wheel folder
        Assert.Contains(site + "/nvidia/cudnn/lib/libcudnn.so.9", CudaLibraries.Candidates(CudaLibrary.Dnn, null, new[] { site }));
    }

    [Fact]
    public void Companions_are_the_files_of_the_same_major_version_next_to_the_library_in_load_order()
    {
        string folder = Path.Combine(Path.GetTempPath(), "netgen-companions-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            foreach (string name in new[]
            {
                "libcudnn.so.9", "libcudnn_cnn.so.9", "libcudnn_ops.so.9", "libcudnn_graph.so.9", "libcudnn_ops.so.8",
                "libcublas.so.13", "libcublasLt.so.13", "libcublasLt.so.12",
                "libnvrtc.so.13", "libnvrtc-builtins.so.13.0", "libnvrtc-builtins.so.12.8",
            })
                File.WriteAllBytes(Path.Combine(folder, name), Array.Empty<byte>());
            string In(string name) => Path.Combine(folder, name);

            // the sub-libraries each after the ones it needs (graph, ..., ops, cnn); none of another major version; absent ones skipped
            Assert.Equal(new[] { In("libcudnn_graph.so.9"), In("libcudnn_ops.so.9"), In("libcudnn_cnn.so.9") },
                CudaLibraries.Companions(CudaLibrary.Dnn, In("libcudnn.so.9")));
            Assert.Equal(new[] { In("libcublasLt.so.13") }, CudaLibraries.Companions(CudaLibrary.Blas, In("libcublas.so.13")));
            Assert.Equal(new[] { In("libcublasLt.so.12") }, CudaLibraries.Companions(CudaLibrary.Blas, In("libcublas.so.12")));
            Assert.Equal(new[] { In("libnvrtc-builtins.so.13.0") }, CudaLibraries.Companions(CudaLibrary.Rtc, In("libnvrtc.so.13")));
            Assert.Empty(CudaLibraries.Companions(CudaLibrary.Runtime, In("libcudart.so.13")));
            Assert.Empty(CudaLibraries.Companions(CudaLibrary.Dnn, Path.Combine(folder, "missing", "libcudnn.so.9")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_cudnn_sublibrary_failure_says_where_the_sublibraries_must_be()
    {
        string hint = Cudnn.Hint(Cudnn.StatusSublibraryLoadingFailed);
        Assert.Contains("libcudnn_ops.so.9", hint);
        Assert.Contains("LD_LIBRARY_PATH", hint);
        Assert.Equal("", Cudnn.Hint(2000));   // BAD_PARAM: cuDNN's own string says it
    }

    [Fact]
    public void Python_site_packages_are_found_under_a_virtual_environment()
    {
        string root = Path.Combine(Path.GetTempPath(), "netgen-venv-" + Guid.NewGuid().ToString("N"));
        string site = Path.Combine(root, "lib", "python3.11", "site-packages");
        Directory.CreateDirectory(site);
        string? before = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        try
        {
            Environment.SetEnvironmentVariable("VIRTUAL_ENV", root);
            Assert.Equal(site, CudaLibraries.PythonSitePackages()[0]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("VIRTUAL_ENV", before);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_missing_library_is_one_clear_exception_listing_every_path_tried()
    {
        var e = new CudaNotFoundException(CudaLibrary.Runtime, new[] { "libcudart.so.13", "/usr/local/cuda/lib64/libcudart.so.13" });
        Assert.Contains("libcudart.so.13 or libcudart.so.12", e.Message);
        Assert.Contains("NETGEN_CUDA_PATH", e.Message);
        Assert.Contains("Tried, in order: libcudart.so.13, /usr/local/cuda/lib64/libcudart.so.13.", e.Message);
        Assert.IsAssignableFrom<DllNotFoundException>(e);
        Assert.Contains("NVIDIA GPU driver", new CudaNotFoundException(CudaLibrary.Driver, new[] { "libcuda.so.1" }).Message);
    }

    [Fact]
    public unsafe void Calling_into_a_library_that_is_not_installed_throws_the_discovery_message()
    {
        if (CudaLibraries.TryLoad(CudaLibrary.Runtime, out string? path))
        {
            // A machine with CUDA: the resolver hands the runtime to the binding, which answers.
            output.WriteLine("CUDA runtime loaded from " + path);
            Assert.NotNull(path);
            int version;
            CudaRuntime.Check(CudaRuntime.cudaRuntimeGetVersion(&version), "cudaRuntimeGetVersion");
            Assert.True(version >= 12000, $"runtime version {version}");
            return;
        }
        // No CUDA here: the resolver turns the P/Invoke's failed load into the message that lists the paths.
        var e = Assert.Throws<CudaNotFoundException>(() =>
        {
            int count;
            CudaRuntime.cudaGetDeviceCount(&count);
        });
        Assert.Equal(CudaLibrary.Runtime, e.Library);
        Assert.Contains("/usr/local/cuda/lib64/libcudart.so.12", e.Searched);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void Probe_never_throws_and_says_why_there_is_no_device()
    {
        CudaProbe probe = CudaDevice.Probe();
        output.WriteLine(probe.ToString());
        if (probe.Available)
        {
            Assert.True(probe.DeviceCount > 0 && probe.MemoryBytes > 0 && probe.ComputeMajor >= 5, probe.ToString());
            Assert.Equal("", probe.Reason);
        }
        else
        {
            Assert.StartsWith("skipped: no CUDA device (", probe.ToString());
            Assert.NotEqual("", probe.Reason);
        }
    }

    [SkippableFact]
    public void Cublas_sgemm_matches_the_cpu_gemm()
    {
        CudaProbe probe = CudaDevice.Probe();
        Skip.IfNot(probe.Available, probe.ToString());
        output.WriteLine(probe.ToString());
        var rng = new Rng(5);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (64, 3136, 576), (128, 1000, 512), (7, 5, 3) })
        {
            float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n);
            float[] expected = new float[m * n], actual = new float[m * n];
            Gemm.Multiply(false, false, m, n, k, a, b, expected, accumulate: false);
            CudaDevice.Sgemm(m, n, k, a, b, actual);
            KernelAssert.Close(expected, actual, 1e-5 + 2e-7 * k, 1e-5, $"{m}x{n}x{k}");
        }
    }
}
