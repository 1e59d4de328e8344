using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;

namespace NetGen.Cuda.Native;

/// <summary>The NVIDIA libraries NetGen binds to, by the name its <c>[LibraryImport]</c> declarations use.</summary>
public enum CudaLibrary
{
    /// <summary>The CUDA driver (libcuda.so.1), installed with the GPU driver, never by a toolkit or wheel.</summary>
    Driver,
    /// <summary>The CUDA runtime (libcudart).</summary>
    Runtime,
    /// <summary>cuBLAS (libcublas).</summary>
    Blas,
    /// <summary>cuDNN 9 (libcudnn).</summary>
    Dnn,
    /// <summary>NVRTC, the runtime compiler (libnvrtc).</summary>
    Rtc,
}

/// <summary>
/// Finds the NVIDIA libraries. The <c>[LibraryImport]</c> declarations in this folder name a library by a
/// placeholder (<c>netgen-cudart</c>, ...); a <see cref="NativeLibrary"/> resolver, registered before the first
/// call into any of them, maps the placeholder to the first file that loads from, in order:
/// <list type="number">
/// <item>the standard locations: the system loader's own search by file name (LD_LIBRARY_PATH, the ldconfig cache),
/// then /usr/local/cuda*/lib64 and /usr/local/cuda*/targets/x86_64-linux/lib;</item>
/// <item>the Python wheel layout (pip's nvidia-cuda-runtime-cu12, nvidia-cublas-cu12, nvidia-cudnn-cu12,
/// nvidia-cuda-nvrtc-cu12): <c>site-packages/nvidia/&lt;package&gt;/lib</c> under the active virtual environment, conda
/// prefix, ~/.local and the system Python folders;</item>
/// <item>the folders in the environment variable NETGEN_CUDA_PATH (separated by ':'), each also with lib64/ and lib/.</item>
/// </list>
/// When nothing loads, <see cref="Require"/> throws a <see cref="CudaNotFoundException"/> listing every path tried.
/// </summary>
public static class CudaLibraries
{
    /// <summary>Environment variable with extra folders to search, after the standard ones and the Python wheels.</summary>
    public const string PathVariable = "NETGEN_CUDA_PATH";

    internal const string DriverName = "netgen-cuda", RuntimeName = "netgen-cudart", BlasName = "netgen-cublas", DnnName = "netgen-cudnn", RtcName = "netgen-nvrtc";

    private static readonly object Gate = new();
    private static readonly Dictionary<CudaLibrary, (IntPtr Handle, string? Path, string[] Searched)> Loaded = new();

    private static int _registered;

    /// <summary>
    /// Registers the resolver once; every binding class calls this from its static constructor, so it runs before
    /// the first CUDA call of the process.
    /// </summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _registered, 1) != 0) return;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(CudaLibraries).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set for this assembly (the host set one): it decides, we do not override it.
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        CudaLibrary? library = name switch
        {
            DriverName => CudaLibrary.Driver,
            RuntimeName => CudaLibrary.Runtime,
            BlasName => CudaLibrary.Blas,
            DnnName => CudaLibrary.Dnn,
            RtcName => CudaLibrary.Rtc,
            _ => null,
        };
        if (library is null) return IntPtr.Zero;   // not ours: the default probing applies
        // A call into a library that is not installed fails with this message instead of DllNotFoundException.
        return Require(library.Value);
    }

    /// <summary>The library's handle, loading it on first use; throws <see cref="CudaNotFoundException"/> when no candidate loads.</summary>
    public static IntPtr Require(CudaLibrary library)
    {
        var (handle, _, searched) = Load(library);
        return handle != IntPtr.Zero ? handle : throw new CudaNotFoundException(library, searched);
    }

    /// <summary>The exception <see cref="Require"/> throws for a library that does not load (every path tried, in order).</summary>
    public static CudaNotFoundException NotFound(CudaLibrary library) => new(library, Load(library).Searched);

    /// <summary>True when the library loads; <paramref name="path"/> is the candidate that did.</summary>
    public static bool TryLoad(CudaLibrary library, out string? path)
    {
        var (handle, loadedFrom, _) = Load(library);
        path = loadedFrom;
        return handle != IntPtr.Zero;
    }

    private static (IntPtr Handle, string? Path, string[] Searched) Load(CudaLibrary library)
    {
        lock (Gate)
        {
            if (Loaded.TryGetValue(library, out var known)) return known;
            var candidates = Candidates(library, Environment.GetEnvironmentVariable(PathVariable), PythonSitePackages());
            var result = (IntPtr.Zero, (string?)null, candidates.ToArray());
            foreach (string candidate in candidates)
            {
                // Bare file names go to the system loader; paths are tried only when the file exists.
                if (candidate.Contains('/') && !File.Exists(candidate)) continue;
                // A library found by path (a wheel, a toolkit folder off the loader's path) loads its own parts by file
                // name, which the system loader would look for elsewhere or not find: load them from its folder first.
                if (candidate.Contains('/')) PreloadCompanions(library, candidate);
                if (NativeLibrary.TryLoad(candidate, out IntPtr handle))
                {
                    result = (handle, candidate, result.Item3);
                    break;
                }
            }
            Loaded[library] = result;
            return result;
        }
    }

    /// <summary>
    /// The files next to <paramref name="path"/> (the file <paramref name="library"/> is loaded from) that it loads by file
    /// name once it runs, of the same major version, in the order
    /// to load them (each after the ones it needs): cuBLAS's libcublasLt (a link-time dependency), cuDNN 9's
    /// sub-libraries (the libcudnn.so.9 shim opens them on first use: without them every call fails with
    /// CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED) and NVRTC's builtins. Only files that exist are listed.
    /// The system loader matches a later request by file name against a loaded library's soname, so once these are
    /// loaded from the library's own folder, the library finds them there and never mixes in another install's copies.
    /// </summary>
    public static List<string> Companions(CudaLibrary library, string path)
    {
        string folder = Path.GetDirectoryName(path) ?? ".";
        string name = Path.GetFileName(path);
        int at = name.IndexOf(".so.", StringComparison.Ordinal);
        string major = at >= 0 ? name[(at + 4)..].Split('.')[0] : "";
        IEnumerable<string> patterns = major.Length == 0 ? Array.Empty<string>() : library switch
        {
            CudaLibrary.Blas => new[] { $"libcublasLt.so.{major}" },
            CudaLibrary.Dnn => new[] { "graph", "engines_precompiled", "engines_runtime_compiled", "heuristic", "ops", "cnn", "adv" }
                .Select(part => $"libcudnn_{part}.so.{major}"),
            CudaLibrary.Rtc => new[] { $"libnvrtc-builtins.so.{major}*" },
            _ => Array.Empty<string>(),
        };
        var result = new List<string>();
        try
        {
            if (!Directory.Exists(folder)) return result;
            foreach (string pattern in patterns)
            {
                var matches = Directory.GetFiles(folder, pattern);
                Array.Sort(matches, StringComparer.Ordinal);
                // builtins: one per toolkit version (libnvrtc-builtins.so.13.0); the newest name serves
                if (matches.Length > 0) result.Add(matches[^1]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // an unreadable folder: what was found so far
        }
        return result;
    }

    /// <summary>
    /// Best effort: a companion that does not load leaves the library to report its own error on first use. Rounds
    /// until one loads nothing new, so a companion that needs another one later in the list still loads.
    /// </summary>
    private static void PreloadCompanions(CudaLibrary library, string path)
    {
        var pending = Companions(library, path);
        int loaded;
        do
        {
            loaded = pending.RemoveAll(TryPreload);
        }
        while (loaded > 0 && pending.Count > 0);
    }

    /// <summary>Called under <see cref="Gate"/>, from <see cref="Load"/>.</summary>
    private static bool TryPreload(string companion)
    {
        if (!NativeLibrary.TryLoad(companion, out _)) return false;
        PreloadedCompanions.Add(companion);
        return true;
    }

    /// <summary>The companion files (<see cref="Companions"/>) loaded so far, for diagnostics.</summary>
    public static IReadOnlyList<string> Preloaded
    {
        get { lock (Gate) return PreloadedCompanions.ToArray(); }
    }

    private static readonly List<string> PreloadedCompanions = new();

    /// <summary>File names of a library, newest major version first (CUDA 13, then 12; cuDNN 9).</summary>
    public static IReadOnlyList<string> FileNames(CudaLibrary library) => library switch
    {
        CudaLibrary.Driver => new[] { "libcuda.so.1" },
        CudaLibrary.Runtime => new[] { "libcudart.so.13", "libcudart.so.12" },
        CudaLibrary.Blas => new[] { "libcublas.so.13", "libcublas.so.12" },
        CudaLibrary.Dnn => new[] { "libcudnn.so.9" },
        CudaLibrary.Rtc => new[] { "libnvrtc.so.13", "libnvrtc.so.12" },
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, null),
    };

    /// <summary>The folder of a library inside a Python wheel (site-packages/nvidia/...), or null for the driver.</summary>
    private static string? WheelFolder(CudaLibrary library) => library switch
    {
        CudaLibrary.Runtime => "cuda_runtime",
        CudaLibrary.Blas => "cublas",
        CudaLibrary.Dnn => "cudnn",
        CudaLibrary.Rtc => "cuda_nvrtc",
        _ => null,
    };

    /// <summary>
    /// Every path tried for <paramref name="library"/>, in order (bare file names first: the system loader's search).
    /// <paramref name="netgenCudaPath"/> is the value of NETGEN_CUDA_PATH; <paramref name="sitePackages"/> the Python
    /// site-packages folders to look in.
    /// </summary>
    public static List<string> Candidates(CudaLibrary library, string? netgenCudaPath, IEnumerable<string> sitePackages)
    {
        var names = FileNames(library);
        var result = new List<string>();
        void AddFolder(string folder)
        {
            foreach (string name in names) result.Add(Path.Combine(folder, name));
        }

        result.AddRange(names);
        foreach (string toolkit in ToolkitFolders())
        {
            AddFolder(Path.Combine(toolkit, "lib64"));
            AddFolder(Path.Combine(toolkit, "targets", "x86_64-linux", "lib"));
        }
        AddFolder("/usr/lib/x86_64-linux-gnu");
        if (WheelFolder(library) is { } wheel)
        {
            foreach (string site in sitePackages)
            {
                AddFolder(Path.Combine(site, "nvidia", wheel, "lib"));
                AddFolder(Path.Combine(site, "nvidia", "cu13", "lib"));   // CUDA 13 wheels put every library in one folder
            }
        }
        if (!string.IsNullOrWhiteSpace(netgenCudaPath))
        {
            foreach (string folder in netgenCudaPath.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                AddFolder(folder);
                AddFolder(Path.Combine(folder, "lib64"));
                AddFolder(Path.Combine(folder, "lib"));
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        result.RemoveAll(path => !seen.Add(path));
        return result;
    }

    /// <summary>/usr/local/cuda, then /usr/local/cuda-* (newest name first), where they exist.</summary>
    private static IEnumerable<string> ToolkitFolders()
    {
        yield return "/usr/local/cuda";
        string[] versioned;
        try
        {
            versioned = Directory.Exists("/usr/local") ? Directory.GetDirectories("/usr/local", "cuda-*") : Array.Empty<string>();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            versioned = Array.Empty<string>();
        }
        Array.Sort(versioned, StringComparer.Ordinal);
        Array.Reverse(versioned);
        foreach (string folder in versioned) yield return folder;
    }

    /// <summary>Python site-packages folders that exist: the virtual environment, conda, the user's and the system's.</summary>
    public static List<string> PythonSitePackages()
    {
        var roots = new List<string>();
        foreach (string variable in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } prefix) roots.Add(Path.Combine(prefix, "lib"));
        }
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (home.Length > 0) roots.Add(Path.Combine(home, ".local", "lib"));
        roots.Add("/usr/local/lib");
        roots.Add("/usr/lib");
        var result = new List<string>();
        foreach (string root in roots)
        {
            string[] pythons;
            try
            {
                pythons = Directory.Exists(root) ? Directory.GetDirectories(root, "python3*") : Array.Empty<string>();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            Array.Sort(pythons, StringComparer.Ordinal);
            foreach (string python in pythons)
            {
                foreach (string leaf in new[] { "site-packages", "dist-packages" })
                {
                    string site = Path.Combine(python, leaf);
                    if (Directory.Exists(site)) result.Add(site);
                }
            }
        }
        return result;
    }
}

/// <summary>An NVIDIA library could not be loaded from any of the places NetGen looks; the message lists them all.</summary>
public sealed class CudaNotFoundException : DllNotFoundException
{
    public CudaNotFoundException(CudaLibrary library, IReadOnlyList<string> searched)
        : base(Describe(library, searched))
    {
        Library = library;
        Searched = searched;
    }

    public CudaLibrary Library { get; }
    public IReadOnlyList<string> Searched { get; }

    private static string Describe(CudaLibrary library, IReadOnlyList<string> searched)
        => $"NetGen could not load the NVIDIA {library} library ({string.Join(" or ", CudaLibraries.FileNames(library))}). " +
           (library == CudaLibrary.Driver
               ? "The CUDA driver comes with the NVIDIA GPU driver; this machine has none installed or no GPU. "
               : $"Install the CUDA toolkit or the matching pip wheel, or point {CudaLibraries.PathVariable} at the folder that holds it. ") +
           $"Tried, in order: {string.Join(", ", searched)}.";
}
