using System;
using System.IO;
using NetGen.Cuda;
using NetGen.Cuda.Native;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Integration.Tests;

[CollectionDefinition(nameof(ConsoleErrorCollection), DisableParallelization = true)]
public sealed class ConsoleErrorCollection;

/// <summary>
/// Backend selection on a generated network: what Backend.Cuda and Backend.Auto do on this machine, and, where a GPU
/// answers, the CUDA path against the CPU path (without one those tests say "skipped: no CUDA device").
/// </summary>
[Collection(nameof(ConsoleErrorCollection))]
public class CudaBackendTests(ITestOutputHelper output)
{
    private static readonly NetworkOptions Cuda = new() { Backend = Backend.Cuda };

    [Fact]
    public void Backend_Cuda_on_a_network_with_an_op_without_a_CUDA_path_names_the_op()
    {
        // Every op has a CUDA path today, so no generated network reaches this; the generator passes its reason (the
        // first op without one, with its line) to the same call when an op lands on the CPU first.
        // Checked before the libraries: the answer does not depend on the machine.
        var e = Assert.Throws<NotSupportedException>(() => CudaBackend.Use(Cuda, "FutureNet", "attention1 (Attention, line 12): no CUDA kernel yet"));
        output.WriteLine(e.Message);
        Assert.Equal("FutureNet cannot run on Backend.Cuda yet: attention1 (Attention, line 12): no CUDA kernel yet. Use Backend.Cpu or Backend.Auto; " +
                     "docs/gpu.md lists the ops that run on CUDA.", e.Message);
        Assert.False(CudaBackend.Use(new NetworkOptions { Backend = Backend.Cpu }, "FutureNet", "attention1 (Attention, line 12): no CUDA kernel yet"));
    }

    [Fact]
    public void Recurrent_networks_have_a_CUDA_path()
    {
        // the constructor asks for CUDA: here that throws the discovery message (not NotSupportedException), on a GPU it runs there
        foreach (Func<INetwork> create in new Func<INetwork>[] { () => new LstmSequenceNet(Cuda), () => new GruLastStateNet(Cuda), () => new RnnTwoLayerBidirectionalNet(Cuda) })
        {
            if (CudaBackend.Unavailable() is { } why) Assert.Same(why, Assert.ThrowsAny<Exception>(create));
            else Assert.Equal(Backend.Cuda, create().ActiveBackend);
        }
    }

    [Fact]
    public void Backend_Cuda_without_CUDA_throws_the_discovery_message_and_with_it_runs_on_the_GPU()
    {
        if (CudaBackend.Unavailable() is { } why)
        {
            var e = Assert.ThrowsAny<Exception>(() => new MlpXor(Cuda));
            Assert.Same(why, e);
            output.WriteLine(e.Message);
            if (e is CudaNotFoundException notFound)
            {
                Assert.Contains("Tried, in order: ", notFound.Message);
                Assert.NotEmpty(notFound.Searched);
            }
            else
            {
                Assert.IsType<InvalidOperationException>(e);
                Assert.StartsWith("No usable CUDA device", e.Message);
            }
            return;
        }
        Assert.Equal(Backend.Cuda, new MlpXor(Cuda).ActiveBackend);
    }

    [Fact]
    public void Backend_Auto_falls_back_to_the_CPU_and_says_so_once_per_network()
    {
        var auto = new NetworkOptions { Backend = Backend.Auto };
        TextWriter before = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        bool first, second;
        try
        {
            first = CudaBackend.Use(auto, "AutoFallbackNet", "attention1 (Attention, line 12): no CUDA kernel yet");
            second = CudaBackend.Use(auto, "AutoFallbackNet", "attention1 (Attention, line 12): no CUDA kernel yet");
        }
        finally
        {
            Console.SetError(before);
        }
        output.WriteLine(captured.ToString());
        Assert.False(first);
        Assert.False(second);
        string text = captured.ToString();
        const string message = "NetGen: Backend.Auto runs AutoFallbackNet on the CPU: ";
        int at = text.IndexOf(message, StringComparison.Ordinal);
        Assert.True(at >= 0, "no fallback message:\n" + text);
        Assert.Contains("(Attention, line 12)", text);
        Assert.Equal(-1, text.IndexOf(message, at + message.Length, StringComparison.Ordinal));

        // a supported network falls back only when this machine has no CUDA, and then computes what the CPU computes
        var mlp = new MlpXor(auto);
        Assert.Equal(CudaBackend.Unavailable() is null ? Backend.Cuda : Backend.Cpu, mlp.ActiveBackend);
        var cpu = new MlpXor();
        float[] x = { 0, 1, 1, 0, 1, 1, 0, 0 };
        Assert.Equal(cpu.Forward(x, 4).ToArray(), mlp.Forward(x, 4).ToArray());
    }

    [Fact]
    public void Backend_Cpu_never_touches_the_CUDA_libraries_and_reports_the_CPU()
    {
        var network = new MiniResNet(new NetworkOptions { Backend = Backend.Cpu });
        Assert.Equal(Backend.Cpu, network.ActiveBackend);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniResNet(new NetworkOptions { Backend = (Backend)7 }));
    }

    [SkippableFact]
    public void MiniResNet_on_CUDA_matches_the_CPU_forward_backward_and_train_step()
    {
        CudaProbe probe = CudaDevice.Probe();
        Exception? unavailable = CudaBackend.Unavailable();
        // (the reason is built only when skipping: with a device, Unavailable() is null)
        Skip.IfNot(probe.Available && unavailable is null, probe.Available ? "skipped: no CUDA device (" + unavailable?.Message + ")" : probe.ToString());
        output.WriteLine(probe.ToString());
        const int batch = 8;
        var cpu = new MiniResNet();
        var gpu = new MiniResNet(Cuda);
        cpu.Parameters.CopyTo(gpu.Parameters);
        cpu.Buffers.CopyTo(gpu.Buffers);
        var rng = new Random(3);
        float[] image = new float[batch * MiniResNet.InputSize];
        for (int i = 0; i < image.Length; i++) image[i] = (float)rng.NextDouble();
        int[] labels = { 0, 1, 2, 3, 4, 5, 6, 7 };

        // fp32 with TF32 off: cuDNN's algorithms sum in other orders than the CPU's; 1e-4 relative to the largest value
        Close(cpu.Forward(image, batch), gpu.Forward(image, batch), 1e-4, "forward (inference)");
        Close(cpu.Forward(image, batch, training: true), gpu.Forward(image, batch, training: true), 1e-4, "forward (training)");
        float[] dy = new float[batch * MiniResNet.OutputSize];
        for (int i = 0; i < dy.Length; i++) dy[i] = (float)rng.NextDouble() - 0.5f;
        cpu.ZeroGradients();
        gpu.ZeroGradients();
        Close(cpu.Backward(dy), gpu.Backward(dy), 1e-4, "input gradient");
        Close(cpu.Gradients, gpu.Gradients, 1e-3, "parameter gradients");

        var cpuOptimizer = new Sgd(0.05f, momentum: 0.9f);
        var gpuOptimizer = new Sgd(0.05f, momentum: 0.9f);
        for (int step = 0; step < 3; step++)
        {
            float cpuLoss = cpu.TrainStep(image, labels, batch, Loss.SoftmaxCrossEntropy, cpuOptimizer);
            float gpuLoss = gpu.TrainStep(image, labels, batch, Loss.SoftmaxCrossEntropy, gpuOptimizer);
            output.WriteLine($"step {step}: CPU loss {cpuLoss:F6}, CUDA loss {gpuLoss:F6}");
            Assert.True(Math.Abs(cpuLoss - gpuLoss) <= 1e-3 * Math.Max(1, Math.Abs(cpuLoss)), $"step {step}: loss CPU {cpuLoss}, CUDA {gpuLoss}");
        }
        Close(cpu.Parameters, gpu.Parameters, 1e-3, "parameters after 3 steps");
    }

    private void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1e-6, worst = 0;
        foreach (float v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / scale;
            Assert.True(error <= tolerance, $"{what}[{i}]: CPU {expected[i]}, CUDA {actual[i]} (error {error:E2} of the largest value)");
            worst = Math.Max(worst, error);
        }
        output.WriteLine($"{what}: worst error {worst:E2} of the largest value (tolerance {tolerance:E0})");
    }
}
