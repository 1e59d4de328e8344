using System.Collections.Generic;
using System.Linq;
using NetGen.Generator.Model;
using NetGen.Generator.Planning;
using static NetGen.Generator.Emit.CpuEmitter;
using static NetGen.Generator.Emit.RecurrentEmitter;

namespace NetGen.Generator.Emit;

/// <summary>
/// The CUDA path of Rnn / Lstm / Gru nodes, line for line the CPU's (<see cref="RecurrentEmitter"/>): one
/// NetGen.Cuda.CudaRecurrent call per layer and direction, each with a device workspace of the CPU's size and layout;
/// layers' own sequences and their gradients in device buffers named like the CPU's arrays; one shared scratch. The
/// initial states' gradients go straight to their operands' gradients (the CPU stages them in arrays of their own).
/// </summary>
internal static class CudaRecurrentEmitter
{
    private const string Cuda = "global::NetGen.Cuda";

    /// <summary>Kernels CudaRecurrent launches itself (looked up by name in the network's module): in the source, no fields.</summary>
    public static IEnumerable<string> RuntimeKernels(NodeSpec n)
    {
        string step = "netgen_" + Cell(n).ToLowerInvariant() + "_step";
        return new[] { "netgen_recurrent_helpers", "netgen_recurrent_bias", "netgen_copy_or_add", "netgen_bias_backward", step + "_forward", step + "_backward" };
    }

    /// <summary>Kernels the generated code launches for the node: the last-state selection.</summary>
    public static IEnumerable<string> GeneratedKernels(NodeSpec n) =>
        Sequences(n) ? Enumerable.Empty<string>() : new[] { "netgen_last_step_forward", "netgen_last_step_backward" };

    private static string Layer(NodeSpec n, int layer, int d) => Base(n) + "L" + layer + (d == 1 ? "Reverse" : "");
    private static int SequenceFloats(Plan plan, NodeSpec n) => Steps(plan, n) * Hidden(n) * Directions(n);

    /// <summary>The device buffers of every recurrent node, with the size each is allocated with.</summary>
    private static IEnumerable<(string Name, string Floats, string Comment)> Buffers(Plan plan)
    {
        foreach (var n in Nodes(plan))
        {
            for (int layer = 0; layer < Layers(n); layer++)
            {
                for (int d = 0; d < Directions(n); d++)
                    yield return (Workspace(n, layer, d), "(long)_capacity * " + Geometry(n, layer, d) + ".WorkspaceSize", "kept by forward for backward");
                if (OwnSequence(n, layer))
                {
                    yield return (SequenceArray(n, layer), "(long)_capacity * " + Int(SequenceFloats(plan, n)), "layer " + layer + "'s output sequence");
                    yield return (SequenceGradientArray(n, layer), "(long)_capacity * " + Int(SequenceFloats(plan, n)), "its gradient");
                }
            }
        }
        var scratch = Nodes(plan).SelectMany(n => Enumerable.Range(0, Layers(n)).SelectMany(layer => Enumerable.Range(0, Directions(n))
            .Select(d => Geometry(n, layer, d) + ".ScratchSize"))).ToList();
        if (scratch.Count > 0)
            yield return ("_recurrentScratch", "(long)_capacity * " + scratch.Aggregate((a, b) => "global::System.Math.Max(" + a + ", " + b + ")"),
                "backward's per-step working memory, shared by every recurrent layer");
    }

    public static void EmitFields(CodeWriter w, Plan plan)
    {
        foreach (var n in Nodes(plan))
            for (int layer = 0; layer < Layers(n); layer++)
                for (int d = 0; d < Directions(n); d++)
                    w.Line("private readonly " + Cuda + ".CudaRecurrent " + Layer(n, layer, d) + "; // " + n.Name + " layer " + layer + (d == 1 ? ", reverse direction" : ""));
        foreach (var (name, _, comment) in Buffers(plan))
            w.Line("private readonly " + Cuda + ".DeviceBuffer " + name + "; // " + comment);
    }

    public static void EmitConstruction(CodeWriter w, Plan plan)
    {
        foreach (var n in Nodes(plan))
            for (int layer = 0; layer < Layers(n); layer++)
                for (int d = 0; d < Directions(n); d++)
                    w.Line(Layer(n, layer, d) + " = new(_context, " + Geometry(n, layer, d) + ");");
        foreach (var (name, floats, _) in Buffers(plan))
            w.Line(name + " = " + Cuda + ".DeviceBuffer.Allocate(" + floats + ");");
    }

    public static IEnumerable<string> DisposeLines(Plan plan) => Buffers(plan).Select(b => b.Name + ".Dispose();");

    private static string Sequence(NodeSpec n, int layer, string output) => OwnSequence(n, layer) ? SequenceArray(n, layer) + ".At(0)" : output;

    private static string Param(Plan plan, NodeSpec n, int layer, int d, int which) =>
        "P(" + Int(plan.ParamOffset[ParamIndex(n, layer, d, which)]) + ") /* " + plan.Param(ParamIndex(n, layer, d, which)).Name + " */";

    private static string Weights(Plan plan, NodeSpec n, int layer, int d) =>
        string.Join(", ", Enumerable.Range(0, 4).Select(j => Param(plan, n, layer, d, j)));

    /// <summary>The four parameter gradients, or 0 (skipped) when the network is frozen.</summary>
    private static string WeightGradients(Plan plan, NodeSpec n, int layer, int d) =>
        string.Join(", ", Enumerable.Range(0, 4).Select(j => "frozen ? 0 : G(" + Int(plan.ParamOffset[ParamIndex(n, layer, d, j)]) + ")"));

    /// <param name="output">The node's activation address.</param>
    /// <param name="input">The sequence's address; <paramref name="h0"/> and <paramref name="c0"/> the initial states' or null.</param>
    public static IEnumerable<string> ForwardLines(Plan plan, NodeSpec n, string output, string input, string? h0, string? c0)
    {
        int stride = Hidden(n) * Directions(n);
        for (int layer = 0; layer < Layers(n); layer++)
        {
            string x = layer == 0 ? input : Sequence(n, layer - 1, output);
            string y = Sequence(n, layer, output);
            string states = layer == 0 && h0 is not null ? h0 + ", " + (c0 ?? "0") : "0, 0";
            for (int d = 0; d < Directions(n); d++)
                yield return Layer(n, layer, d) + ".Forward(batch, " + y + ", outStride: " + Int(stride) + ", outOffset: " + Int(d * Hidden(n)) + ", " + x + ", " + states + ", " +
                             Weights(plan, n, layer, d) + ", " + Workspace(n, layer, d) + ".At(0));";
        }
        if (!Sequences(n))
            yield return "_lastStepForward.Run(batch * " + Int(stride) + ", " + output + ", " + Sequence(n, Layers(n) - 1, output) + ", batch, " +
                         Ints(Steps(plan, n), Hidden(n), Directions(n)) + "); // the last state of each direction (PyTorch's h_n)";
    }

    /// <summary>
    /// Backpropagation through time, from the last layer down. <paramref name="inputGradients"/> holds, per operand
    /// (sequence, initial hidden, initial cell), the gradient address, whether to accumulate into it, and whether it is
    /// wanted only for the caller's input gradient (then skipped unless asked for).
    /// </summary>
    public static IEnumerable<string> BackwardLines(Plan plan, NodeSpec n, string output, string dOutput, string input, string? h0, string? c0,
        IReadOnlyList<(string Address, bool Accumulate, bool OnlyForInputs)> inputGradients)
    {
        int stride = Hidden(n) * Directions(n), last = Layers(n) - 1;
        string dLast = Sequences(n) ? dOutput : SequenceGradientArray(n, last) + ".At(0)";
        if (!Sequences(n))
            yield return "_lastStepBackward.Run(batch * " + Int(Steps(plan, n) * stride) + ", " + dLast + ", " + dOutput + ", batch, " +
                         Ints(Steps(plan, n), Hidden(n), Directions(n)) + ", 0);";
        string states = h0 is not null ? h0 + ", " + (c0 ?? "0") : "0, 0";
        // the initial states' gradients (one layer, one direction: the parser allows initial states only there) go
        // straight to the operands' gradients
        string dStates = h0 is not null ? inputGradients[1].Address + ", " + (c0 is not null ? inputGradients[2].Address : "0") : "0, 0";
        string stateFlags = (h0 is not null && inputGradients[1].Accumulate ? ", accumulateHidden: true" : "") +
                            (c0 is not null && inputGradients[2].Accumulate ? ", accumulateCell: true" : "");
        for (int layer = last; layer >= 0; layer--)
        {
            string x = layer == 0 ? input : Sequence(n, layer - 1, output);
            string dY = layer == last ? dLast : SequenceGradientArray(n, layer) + ".At(0)";
            string dX = layer > 0 ? SequenceGradientArray(n, layer - 1) + ".At(0)"
                : inputGradients[0].OnlyForInputs ? "inputGradient ? " + inputGradients[0].Address + " : 0" : inputGradients[0].Address;
            for (int d = 0; d < Directions(n); d++)
            {
                bool accumulate = d > 0 || (layer == 0 && inputGradients[0].Accumulate);
                yield return Layer(n, layer, d) + ".Backward(batch, " + dX + ", accumulate: " + (accumulate ? "true" : "false") + ", " + (layer == 0 ? dStates : "0, 0") + ", " +
                             WeightGradients(plan, n, layer, d) + ", " + dY + ", outStride: " + Int(stride) + ", outOffset: " + Int(d * Hidden(n)) + ", " +
                             x + ", " + (layer == 0 ? states : "0, 0") + ", " + Param(plan, n, layer, d, 0) + ", " + Param(plan, n, layer, d, 1) + ", " +
                             Workspace(n, layer, d) + ".At(0), _recurrentScratch.At(0)" + (layer == 0 ? stateFlags : "") + ");";
            }
        }
    }
}
