using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using NetGen.Cpu;
using NetGen.Cuda;
using NetGen.Generator.Emit;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>
/// <see cref="CudaRecurrent"/>, the runtime code that queues a recurrent layer on the GPU, run unchanged against an
/// emulated stream: its kernel launches go to the generated CUDA C compiled for the CPU (<see cref="CudaKernelEmulator"/>,
/// with the argument arrays cuLaunchKernel would get), its cuBLAS products to the CPU's GEMM. Compared with
/// <see cref="Recurrent"/>, the CPU oracle, forward and backward, for every cell, direction and optional operand.
/// </summary>
public sealed unsafe class CudaRecurrentTests : IClassFixture<CudaEmulatorFixture>
{
    private readonly ITestOutputHelper _output;
    private readonly CudaEmulatorFixture _fixture;

    public CudaRecurrentTests(CudaEmulatorFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    /// <summary>A stream whose launches run the emulated kernels over 3 blocks of 4 threads and whose GEMMs are the CPU's.</summary>
    private sealed class EmulatedQueue(CudaKernelEmulator emulator) : ICudaQueue
    {
        public readonly List<string> Log = new();

        public IntPtr Kernel(string name) => (IntPtr)emulator.Launcher(name);

        public void Launch(IntPtr kernel, long count, void** arguments, string name)
        {
            Log.Add(name);
            ((delegate* unmanaged<void**, uint, uint, void>)kernel)(arguments, 3, 4);
        }

        public void Zero(nint device, long count) => new Span<float>((void*)device, checked((int)count)).Clear();

        public void Gemm(bool transA, bool transB, int m, int n, int k, nint a, nint b, nint c, bool accumulate, string what)
        {
            Log.Add(what);
            Cpu.Gemm.Multiply(transA, transB, m, n, k, new ReadOnlySpan<float>((void*)a, m * k), new ReadOnlySpan<float>((void*)b, k * n),
                new Span<float>((void*)c, m * n), accumulate);
        }
    }

    /// <summary>"Device memory": a pinned array and its address (0 for an absent operand).</summary>
    private sealed class Buffer
    {
        public readonly float[] Data;
        public Buffer(float[] data)
        {
            Data = GC.AllocateArray<float>(data.Length, pinned: true);
            data.CopyTo(Data, 0);
        }
        public nint Address => Data.Length == 0 ? 0 : Marshal.UnsafeAddrOfPinnedArrayElement(Data, 0);
    }

    private static float[] Random(Random rng, int n, float scale = 1f) =>
        Enumerable.Range(0, n).Select(_ => scale * (2f * (float)rng.NextDouble() - 1f)).ToArray();

    private void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what) =>
        CudaEmulatorFixture.Close(_output, expected, actual, tolerance, what);

    public static IEnumerable<object[]> Cases()
    {
        foreach (var cell in new[] { RecurrentCell.Rnn, RecurrentCell.Lstm, RecurrentCell.Gru })
        foreach (bool reverse in new[] { false, true })
        foreach (bool states in new[] { false, true })
            yield return new object[] { cell, reverse, states, !states /* biases on half the cases */ };
    }

    // The CPU's tanh and sigmoid are vector approximations, the kernels' tanhf / expf (within 2.4e-7 relative per call,
    // CudaKernelTests); through 4 steps forward and back the worst seen is 3e-7.
    private const double Tolerance = 1e-6;

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void A_layer_queued_for_the_GPU_computes_what_the_CPU_computes(RecurrentCell cell, bool reverse, bool states, bool biases)
    {
        var emulator = _fixture.Emulator;
        const int batch = 3, steps = 4, inSize = 5, hidden = 6, stride = 2 * hidden, offset = hidden; // the reverse half of a bidirectional output
        var g = new RecurrentGeometry(cell, steps, inSize, hidden, reverse);
        var rng = new Random((int)cell * 8 + (reverse ? 4 : 0) + (states ? 2 : 0));
        float[] input = Random(rng, batch * steps * inSize);
        float[] h0 = states ? Random(rng, batch * hidden) : Array.Empty<float>();
        float[] c0 = states && cell == RecurrentCell.Lstm ? Random(rng, batch * hidden) : Array.Empty<float>();
        float[] wIh = Random(rng, g.GateSize * inSize, 0.6f), wHh = Random(rng, g.GateSize * hidden, 0.6f);
        float[] bIh = biases ? Random(rng, g.GateSize) : Array.Empty<float>(), bHh = biases ? Random(rng, g.GateSize) : Array.Empty<float>();
        float[] outputStart = Random(rng, batch * steps * stride); // the other direction's columns must survive

        // CPU
        float[] output = (float[])outputStart.Clone(), workspace = new float[batch * g.WorkspaceSize];
        Recurrent.Forward(output, stride, offset, input, h0, c0, wIh, wHh, bIh, bHh, batch, g, workspace);

        // CUDA path, emulated
        var queue = new EmulatedQueue(emulator);
        var layer = new CudaRecurrent(queue, g);
        Buffer dOutputBuffer, dInput, dH0, dC0, dWIh, dWHh, dBIh, dBHh;
        Buffer x = new(input), h0b = new(h0), c0b = new(c0), wIhB = new(wIh), wHhB = new(wHh), bIhB = new(bIh), bHhB = new(bHh);
        Buffer outB = new(outputStart), workspaceB = new(new float[batch * g.WorkspaceSize]);
        layer.Forward(batch, outB.Address, stride, offset, x.Address, h0b.Address, c0b.Address, wIhB.Address, wHhB.Address, bIhB.Address, bHhB.Address, workspaceB.Address);
        string what = $"{cell}{(reverse ? " reverse" : "")}{(states ? " initial state" : "")}{(biases ? " biases" : "")}";
        Close(output, outB.Data, Tolerance, what + " output");
        Close(workspace, workspaceB.Data, Tolerance, what + " workspace");

        // Backward: every gradient accumulates onto a start value where the API accumulates.
        float[] dOutput = Random(rng, batch * steps * stride);
        float[] dInputStart = Random(rng, batch * steps * inSize);
        float[] dWIhStart = Random(rng, wIh.Length), dWHhStart = Random(rng, wHh.Length);
        float[] dBIhStart = biases ? Random(rng, g.GateSize) : Array.Empty<float>(), dBHhStart = biases ? Random(rng, g.GateSize) : Array.Empty<float>();
        float[] cpuDInput = (float[])dInputStart.Clone(), cpuDWIh = (float[])dWIhStart.Clone(), cpuDWHh = (float[])dWHhStart.Clone();
        float[] cpuDBIh = (float[])dBIhStart.Clone(), cpuDBHh = (float[])dBHhStart.Clone();
        float[] cpuDH0 = new float[h0.Length], cpuDC0 = new float[c0.Length];
        Recurrent.Backward(cpuDInput, accumulate: true, cpuDH0, cpuDC0, cpuDWIh, cpuDWHh, cpuDBIh, cpuDBHh, dOutput, stride, offset, default,
            input, h0, c0, wIh, wHh, output, batch, g, workspace, new float[batch * g.ScratchSize]);

        // the initial states' gradients are added to what the operands' gradients already hold (another reader's share)
        float[] dH0Start = Random(rng, h0.Length), dC0Start = Random(rng, c0.Length);
        for (int i = 0; i < cpuDH0.Length; i++) cpuDH0[i] += dH0Start[i];
        for (int i = 0; i < cpuDC0.Length; i++) cpuDC0[i] += dC0Start[i];
        dOutputBuffer = new(dOutput); dInput = new(dInputStart); dH0 = new(dH0Start); dC0 = new(dC0Start);
        dWIh = new(dWIhStart); dWHh = new(dWHhStart); dBIh = new(dBIhStart); dBHh = new(dBHhStart);
        var scratch = new Buffer(Random(rng, batch * g.ScratchSize)); // garbage: the layer must not read scratch it did not write
        layer.Backward(batch, dInput.Address, accumulate: true, dH0.Address, dC0.Address, dWIh.Address, dWHh.Address, dBIh.Address, dBHh.Address,
            dOutputBuffer.Address, stride, offset, x.Address, h0b.Address, c0b.Address, wIhB.Address, wHhB.Address, workspaceB.Address, scratch.Address,
            accumulateHidden: true, accumulateCell: true);
        Close(cpuDInput, dInput.Data, Tolerance, what + " input gradient");
        Close(cpuDH0, dH0.Data, Tolerance, what + " initial hidden gradient");
        Close(cpuDC0, dC0.Data, Tolerance, what + " initial cell gradient");
        Close(cpuDWIh, dWIh.Data, Tolerance, what + " input weight gradient");
        Close(cpuDWHh, dWHh.Data, Tolerance, what + " recurrent weight gradient");
        Close(cpuDBIh, dBIh.Data, Tolerance, what + " input bias gradient");
        Close(cpuDBHh, dBHh.Data, Tolerance, what + " recurrent bias gradient");
    }

    [SkippableFact]
    public void A_frozen_backward_leaves_the_parameter_gradients_alone_and_skips_an_unwanted_input_gradient()
    {
        var emulator = _fixture.Emulator;
        const int batch = 2, steps = 3, inSize = 4, hidden = 5;
        var g = new RecurrentGeometry(RecurrentCell.Lstm, steps, inSize, hidden, Reverse: false);
        var rng = new Random(5);
        var queue = new EmulatedQueue(emulator);
        var layer = new CudaRecurrent(queue, g);
        Buffer x = new(Random(rng, batch * steps * inSize)), wIh = new(Random(rng, g.GateSize * inSize)), wHh = new(Random(rng, g.GateSize * hidden));
        Buffer output = new(new float[batch * steps * hidden]), workspace = new(new float[batch * g.WorkspaceSize]);
        layer.Forward(batch, output.Address, hidden, 0, x.Address, 0, 0, wIh.Address, wHh.Address, 0, 0, workspace.Address);
        queue.Log.Clear();
        layer.Backward(batch, 0, accumulate: false, 0, 0, 0, 0, 0, 0, new Buffer(Random(rng, batch * steps * hidden)).Address, hidden, 0,
            x.Address, 0, 0, wIh.Address, wHh.Address, workspace.Address, new Buffer(new float[batch * g.ScratchSize]).Address);
        // only backpropagation through time: the step kernels and the hidden-gradient products, nothing else
        Assert.Equal(steps, queue.Log.Count(l => l == "netgen_lstm_step_backward"));
        Assert.Equal(steps - 1, queue.Log.Count(l => l.Contains("hidden gradient")));
        Assert.Equal(2 * steps - 1, queue.Log.Count);
    }

    [SkippableFact]
    public void Last_step_kernels_match_the_CPU_for_one_and_two_directions()
    {
        var emulator = _fixture.Emulator;
        var forward = emulator.Launcher("netgen_last_step_forward");
        var backward = emulator.Launcher("netgen_last_step_backward");
        const int batch = 3, steps = 4, hidden = 5;
        var rng = new Random(9);
        void** args = stackalloc void*[7];
        foreach (int directions in new[] { 1, 2 })
        {
            int width = hidden * directions;
            var sequence = new Buffer(Random(rng, batch * steps * width));
            var y = new Buffer(new float[batch * width]);
            int b = batch, s = steps, h = hidden, d = directions;
            nint yAddress = y.Address, sequenceAddress = sequence.Address;
            args[0] = &yAddress; args[1] = &sequenceAddress; args[2] = &b; args[3] = &s; args[4] = &h; args[5] = &d;
            forward(args, 3, 4);
            float[] expected = new float[batch * width];
            Recurrent.LastStep(expected, sequence.Data, batch, steps, hidden, directions);
            Close(expected, y.Data, 0, $"last step, {directions} direction(s)");

            foreach (int accumulate in new[] { 0, 1 })
            {
                float[] start = Random(rng, batch * steps * width), dy = Random(rng, batch * width);
                var dSequence = new Buffer(start);
                var dyBuffer = new Buffer(dy);
                nint dsAddress = dSequence.Address, dyAddress = dyBuffer.Address;
                int acc = accumulate;
                args[0] = &dsAddress; args[1] = &dyAddress; args[2] = &b; args[3] = &s; args[4] = &h; args[5] = &d; args[6] = &acc;
                backward(args, 3, 4);
                float[] expectedDs = (float[])start.Clone();
                Recurrent.LastStepBackward(expectedDs, dy, batch, steps, hidden, directions, accumulate == 1);
                Close(expectedDs, dSequence.Data, 0, $"last step backward, {directions} direction(s), accumulate {accumulate}");
            }
        }
    }
}
