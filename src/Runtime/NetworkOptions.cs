using System;

namespace NetGen;

/// <summary>Where a network runs.</summary>
public enum Backend
{
    /// <summary>The generated CPU code (SIMD kernels). Always available.</summary>
    Cpu = 0,

    /// <summary>
    /// The generated CUDA code (cuDNN, cuBLAS, NVRTC kernels, CUDA graphs) on GPU 0. Construction throws when the
    /// NVIDIA libraries or a device are missing (the message lists every path searched) or when the network has an op
    /// without a CUDA path yet (docs/gpu.md lists them).
    /// </summary>
    Cuda = 1,

    /// <summary>CUDA when it can run this network, else the CPU, saying why once (on standard error).</summary>
    Auto = 2,
}

/// <summary>Construction options shared by every generated network.</summary>
public sealed class NetworkOptions
{
    /// <summary>Largest batch the network accepts; every arena is sized for it once. Default 64.</summary>
    public int Capacity { get; init; } = 64;

    /// <summary>Seed of the parameter initialisation. Default 1.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Where the network runs. Default <see cref="Backend.Cpu"/>.</summary>
    public Backend Backend { get; init; } = Backend.Cpu;

    /// <summary>
    /// CUDA only: let cuBLAS and cuDNN use TF32 tensor cores (fp32 storage, 10-bit-mantissa products, roughly 1e-3
    /// relative error). Off by default: fp32 results then match the CPU to float rounding.
    /// </summary>
    public bool AllowTf32 { get; init; }

    /// <summary>CUDA only: the convolution workspace in bytes; cuDNN algorithms needing more are not chosen. Default 256 MiB.</summary>
    public long CudaWorkspaceBytes { get; init; } = 256L << 20;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Capacity < 1 || Capacity > 1 << 20)
            throw new ArgumentOutOfRangeException(nameof(Capacity), Capacity, "NetworkOptions.Capacity (the largest batch) must be between 1 and 1048576.");
        if (!Enum.IsDefined(Backend))
            throw new ArgumentOutOfRangeException(nameof(Backend), Backend, "NetworkOptions.Backend must be Cpu, Cuda or Auto.");
        if (CudaWorkspaceBytes < 0 || CudaWorkspaceBytes > 1L << 40)
            throw new ArgumentOutOfRangeException(nameof(CudaWorkspaceBytes), CudaWorkspaceBytes, "NetworkOptions.CudaWorkspaceBytes must be between 0 and 1 TiB.");
    }
}

/// <summary>What every generated network offers, whatever its inputs.</summary>
public interface INetwork
{
    /// <summary>Largest batch this instance accepts.</summary>
    int Capacity { get; }

    /// <summary>All trainable floats, laid out as <see cref="Schema"/> says.</summary>
    Span<float> Parameters { get; }

    /// <summary>Accumulated gradients, same layout as <see cref="Parameters"/>.</summary>
    Span<float> Gradients { get; }

    /// <summary>Named parameter tensors (checkpoint names and shapes).</summary>
    System.Collections.Generic.IReadOnlyList<ParameterInfo> Schema { get; }

    /// <summary>The compile-time summary table.</summary>
    string Summary { get; }

    /// <summary>Where this instance runs: <see cref="Backend.Cpu"/>, or <see cref="Backend.Cuda"/> when the options asked for it and it could.</summary>
    Backend ActiveBackend { get; }

    /// <summary>Sets every gradient to zero.</summary>
    void ZeroGradients();

    /// <summary>Saves the parameters (safetensors, atomic).</summary>
    void Save(string path);

    /// <summary>Loads and validates parameters (safetensors).</summary>
    void Load(string path);

    /// <summary>Writes the inference graph and weights as an ONNX model (opset 13).</summary>
    void ExportOnnx(string path);
}

/// <summary>A generated network with one input: usable by generic training loops.</summary>
public interface ISingleInputNetwork : INetwork
{
    /// <summary>Floats per input sample.</summary>
    int InputSize { get; }

    /// <summary>Floats per output sample.</summary>
    int OutputSize { get; }

    /// <summary>Runs the network; see the generated method.</summary>
    ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false);

    /// <summary>Back-propagates; see the generated method.</summary>
    ReadOnlySpan<float> Backward(ReadOnlySpan<float> outputGradient, bool inputGradient = true);

    /// <summary>One training step against class labels.</summary>
    float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<int> labels, int batch, Loss loss, Optimizer optimizer);

    /// <summary>One training step against float targets.</summary>
    float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer);
}
