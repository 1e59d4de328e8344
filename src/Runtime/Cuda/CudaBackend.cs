using System;
using System.Collections.Generic;
using NetGen.Cuda.Native;

namespace NetGen.Cuda;

/// <summary>The one place that decides whether a network runs on CUDA (generated constructors call <see cref="Use"/>).</summary>
public static class CudaBackend
{
    private static readonly object s_lock = new();
    private static readonly HashSet<string> s_told = new();
    private static Exception? s_unavailable;
    private static bool s_probed;

    /// <summary>
    /// True when <paramref name="network"/> should run on CUDA. <see cref="Backend.Cpu"/>: false. <see cref="Backend.Cuda"/>:
    /// true, or throws why not (<see cref="CudaNotFoundException"/> listing the paths searched, an
    /// <see cref="InvalidOperationException"/> when no device answers, <see cref="NotSupportedException"/> naming the op
    /// without a CUDA path). <see cref="Backend.Auto"/>: false in those cases, after saying why once per network type.
    /// </summary>
    /// <param name="unsupported">The generator's reason this network cannot run on CUDA, or null.</param>
    public static bool Use(NetworkOptions options, string network, string? unsupported)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Backend == Backend.Cpu) return false;
        Exception? why = unsupported is not null
            ? new NotSupportedException($"{network} cannot run on Backend.Cuda yet: {unsupported}. Use Backend.Cpu or Backend.Auto; docs/gpu.md lists the ops that run on CUDA.")
            : Unavailable();
        if (why is null) return true;
        if (options.Backend == Backend.Cuda) throw why;
        lock (s_lock)
        {
            if (s_told.Add(network))
                Console.Error.WriteLine($"NetGen: Backend.Auto runs {network} on the CPU: {why.Message}");
        }
        return false;
    }

    /// <summary>
    /// A backend by name, as command lines take it: cpu, cuda or auto (any case). Anything else throws
    /// <see cref="FormatException"/> naming <paramref name="what"/> (the option, say "--backend") and the accepted names.
    /// </summary>
    public static Backend Parse(string text, string what = "backend")
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.ToLowerInvariant() switch
        {
            "cpu" => Backend.Cpu,
            "cuda" => Backend.Cuda,
            "auto" => Backend.Auto,
            _ => throw new FormatException($"{what} must be cpu, cuda or auto, got '{text}'"),
        };
    }

    /// <summary>
    /// Null when the CUDA libraries load, a device answers and NVRTC can compile for it (checked once per process); else
    /// the exception saying why not.
    /// </summary>
    public static Exception? Unavailable()
    {
        lock (s_lock)
        {
            if (s_probed) return s_unavailable;
            s_probed = true;
            foreach (CudaLibrary library in Enum.GetValues<CudaLibrary>())
            {
                if (!CudaLibraries.TryLoad(library, out _))
                    return s_unavailable = CudaLibraries.NotFound(library);
            }
            var probe = CudaDevice.Probe();
            if (!probe.Available) return s_unavailable = new InvalidOperationException("No usable CUDA device: " + probe.Reason);
            try
            {
                CudaModule.DeviceTarget(); // a GPU this NVRTC cannot compile for (too old for it) cannot run a network
            }
            catch (Exception e) when (e is NotSupportedException or CudaException)
            {
                return s_unavailable = e;
            }
            return s_unavailable = null;
        }
    }
}
