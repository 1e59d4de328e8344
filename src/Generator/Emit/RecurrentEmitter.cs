using System.Collections.Generic;
using System.Linq;
using NetGen.Generator.Model;
using NetGen.Generator.Planning;

namespace NetGen.Generator.Emit;

/// <summary>
/// Code for Rnn / Lstm / Gru nodes: one kernel call per layer and direction (NetGen.Cpu.Recurrent), each layer's
/// sequence and each direction's workspace in arrays of their own (named after the layer, sized per sample times
/// the capacity), and backpropagation through time from the last layer down.
/// </summary>
internal static class RecurrentEmitter
{
    private const string Cpu = "global::NetGen.Cpu";

    internal static int Layers(NodeSpec n) => n.Stride;
    internal static int Directions(NodeSpec n) => n.Padding;
    internal static int Hidden(NodeSpec n) => n.Kernel;
    internal static bool Sequences(NodeSpec n) => n.CeilMode;
    internal static int Steps(Plan plan, NodeSpec n) => plan.Spec.Nodes[n.Inputs[0]].Shape.Dims[0];
    internal static string Cell(NodeSpec n) => n.Extra switch { 0 => "Rnn", 1 => "Lstm", _ => "Gru" };

    public static string Describe(NodeSpec n) =>
        " (" + Cell(n) + ", hidden " + Hidden(n) + (Layers(n) > 1 ? ", " + Layers(n) + " layers" : "") + (Directions(n) == 2 ? ", bidirectional" : "") +
        (Sequences(n) ? "" : ", last state") + ")";

    internal static string Base(NodeSpec n) => "_" + CpuEmitter.LocalName(n.Name);
    internal static string Geometry(NodeSpec n, int layer, int direction) => CpuEmitter.Pascal(CpuEmitter.LocalName(n.Name)) + "L" + layer + (direction == 1 ? "Reverse" : "") + "Geometry";
    internal static string Workspace(NodeSpec n, int layer, int direction) => Base(n) + "WorkspaceL" + layer + (direction == 1 ? "Reverse" : "");

    /// <summary>A layer's output sequence has an array of its own unless it is the node's output.</summary>
    internal static bool OwnSequence(NodeSpec n, int layer) => layer < Layers(n) - 1 || !Sequences(n);
    internal static string SequenceArray(NodeSpec n, int layer) => Base(n) + "SequenceL" + layer;
    internal static string SequenceGradientArray(NodeSpec n, int layer) => Base(n) + "SequenceGradientL" + layer;

    public static IEnumerable<NodeSpec> Nodes(Plan plan) => plan.Spec.Nodes.Where(n => n.Op == OpKind.Recurrent);

    public static void EmitGeometries(CodeWriter w, Plan plan)
    {
        foreach (var n in Nodes(plan))
        {
            for (int layer = 0; layer < Layers(n); layer++)
            {
                int inFeatures = layer == 0 ? plan.Spec.Nodes[n.Inputs[0]].Shape.Dims[1] : Hidden(n) * Directions(n);
                for (int d = 0; d < Directions(n); d++)
                    w.Line("private static readonly " + Cpu + ".RecurrentGeometry " + Geometry(n, layer, d) + " = new(" + Cpu + ".RecurrentCell." + Cell(n) + ", " +
                           CpuEmitter.Int(Steps(plan, n)) + ", " + CpuEmitter.Int(inFeatures) + ", " + CpuEmitter.Int(Hidden(n)) + ", Reverse: " + (d == 1 ? "true" : "false") + ");");
            }
        }
    }

    public static void EmitFields(CodeWriter w, Plan plan)
    {
        var nodes = Nodes(plan).ToList();
        if (nodes.Count == 0) return;
        foreach (var n in nodes)
        {
            int sequence = Steps(plan, n) * Hidden(n) * Directions(n);
            for (int layer = 0; layer < Layers(n); layer++)
            {
                for (int d = 0; d < Directions(n); d++)
                    w.Line("private readonly float[] " + Workspace(n, layer, d) + "; // [capacity x " + Geometry(n, layer, d) + ".WorkspaceSize] kept by forward for backward");
                if (OwnSequence(n, layer))
                {
                    w.Line("private readonly float[] " + SequenceArray(n, layer) + "; // [capacity x " + CpuEmitter.Int(sequence) + "] layer " + layer + "'s output sequence");
                    w.Line("private readonly float[] " + SequenceGradientArray(n, layer) + "; // its gradient");
                }
            }
            if (n.Inputs.Count > 1)
                w.Line("private readonly float[] " + Base(n) + "HiddenStateGradient; // [capacity x " + CpuEmitter.Int(Hidden(n)) + "] gradient of the initial hidden state");
            if (n.Inputs.Count > 2)
                w.Line("private readonly float[] " + Base(n) + "CellStateGradient; // [capacity x " + CpuEmitter.Int(Hidden(n)) + "] gradient of the initial cell state");
        }
        w.Line("private readonly float[] _recurrentScratch; // backward's per-step working memory, shared by every recurrent layer");
    }

    public static void EmitAllocations(CodeWriter w, Plan plan)
    {
        var nodes = Nodes(plan).ToList();
        if (nodes.Count == 0) return;
        var scratch = new List<string>();
        foreach (var n in nodes)
        {
            int sequence = Steps(plan, n) * Hidden(n) * Directions(n);
            for (int layer = 0; layer < Layers(n); layer++)
            {
                for (int d = 0; d < Directions(n); d++)
                {
                    w.Line(Workspace(n, layer, d) + " = new float[_capacity * " + Geometry(n, layer, d) + ".WorkspaceSize];");
                    scratch.Add(Geometry(n, layer, d) + ".ScratchSize");
                }
                if (OwnSequence(n, layer))
                {
                    w.Line(SequenceArray(n, layer) + " = new float[_capacity * " + CpuEmitter.Int(sequence) + "];");
                    w.Line(SequenceGradientArray(n, layer) + " = new float[_capacity * " + CpuEmitter.Int(sequence) + "];");
                }
            }
            if (n.Inputs.Count > 1) w.Line(Base(n) + "HiddenStateGradient = new float[_capacity * " + CpuEmitter.Int(Hidden(n)) + "];");
            if (n.Inputs.Count > 2) w.Line(Base(n) + "CellStateGradient = new float[_capacity * " + CpuEmitter.Int(Hidden(n)) + "];");
        }
        string max = scratch.Aggregate((a, b) => "global::System.Math.Max(" + a + ", " + b + ")");
        w.Line("_recurrentScratch = new float[_capacity * " + max + "];");
    }

    /// <summary>The span of layer <paramref name="layer"/>'s output sequence ([batch, Steps, H * directions]).</summary>
    private static string Sequence(Plan plan, NodeSpec n, int layer, string output)
    {
        if (!OwnSequence(n, layer)) return output;
        return SequenceArray(n, layer) + ".AsSpan(0, batch * " + CpuEmitter.Int(Steps(plan, n) * Hidden(n) * Directions(n)) + ")";
    }

    /// <summary>The parameter index of weight_ih (0), weight_hh (1), bias_ih (2) or bias_hh (3) of one layer and direction.</summary>
    internal static int ParamIndex(NodeSpec n, int layer, int d, int which) => n.Weight + 4 * (layer * Directions(n) + d) + which;

    private static string Param(Plan plan, NodeSpec n, int layer, int d, int which, bool gradient)
    {
        var p = plan.Param(ParamIndex(n, layer, d, which));
        string span = (gradient ? "_gradients" : "_parameters") + ".AsSpan(" + CpuEmitter.Int(plan.ParamOffset[p.Index]) + ", " + CpuEmitter.Int(p.Size) + ")";
        return gradient ? "Frozen ? default : " + span : span + " /* " + p.Name + " */"; // a frozen network leaves its gradients alone
    }

    private static string Weights(Plan plan, NodeSpec n, int layer, int d, bool gradient) =>
        string.Join(", ", Enumerable.Range(0, 4).Select(j => Param(plan, n, layer, d, j, gradient)));

    public static void EmitForward(CodeWriter w, Plan plan, NodeSpec n, string output, string input, string? h0, string? c0)
    {
        int stride = Hidden(n) * Directions(n);
        for (int layer = 0; layer < Layers(n); layer++)
        {
            string x = layer == 0 ? input : Sequence(plan, n, layer - 1, output);
            string y = Sequence(plan, n, layer, output);
            for (int d = 0; d < Directions(n); d++)
            {
                string states = layer == 0 && h0 is not null ? h0 + ", " + (c0 ?? "default") : "default, default";
                w.Line(Cpu + ".Recurrent.Forward(" + y + ", outStride: " + CpuEmitter.Int(stride) + ", outOffset: " + CpuEmitter.Int(d * Hidden(n)) + ", " + x + ", " + states + ",");
                w.Line("    " + Weights(plan, n, layer, d, gradient: false) + ",");
                w.Line("    batch, " + Geometry(n, layer, d) + ", " + Workspace(n, layer, d) + ");");
            }
        }
        if (!Sequences(n))
            w.Line(Cpu + ".Recurrent.LastStep(" + output + ", " + Sequence(plan, n, Layers(n) - 1, output) + ", batch, " +
                   CpuEmitter.Ints(Steps(plan, n), Hidden(n), Directions(n)) + "); // the last state of each direction (PyTorch's h_n)");
    }

    /// <summary>
    /// Backpropagation through time for every layer and direction. <paramref name="inputGradients"/> holds, per operand
    /// (sequence, initial hidden, initial cell), the gradient span and whether it must be accumulated.
    /// </summary>
    public static void EmitBackward(CodeWriter w, Plan plan, NodeSpec n, string output, string dOutput, string input, string? h0, string? c0,
        IReadOnlyList<(string Span, bool Accumulate)> inputGradients)
    {
        int stride = Hidden(n) * Directions(n), last = Layers(n) - 1;
        string dLast = Sequences(n) ? dOutput : SequenceGradientArray(n, last) + ".AsSpan(0, batch * " + CpuEmitter.Int(Steps(plan, n) * stride) + ")";
        if (!Sequences(n))
            w.Line(Cpu + ".Recurrent.LastStepBackward(" + dLast + ", " + dOutput + ", batch, " + CpuEmitter.Ints(Steps(plan, n), Hidden(n), Directions(n)) + ", accumulate: false);");
        string hiddenGradient = Base(n) + "HiddenStateGradient.AsSpan(0, batch * " + CpuEmitter.Int(Hidden(n)) + ")";
        string cellGradient = Base(n) + "CellStateGradient.AsSpan(0, batch * " + CpuEmitter.Int(Hidden(n)) + ")";
        for (int layer = last; layer >= 0; layer--)
        {
            string x = layer == 0 ? input : Sequence(plan, n, layer - 1, output);
            string y = Sequence(plan, n, layer, output);
            string dY = layer == last ? dLast : SequenceGradientArray(n, layer) + ".AsSpan(0, batch * " + CpuEmitter.Int(Steps(plan, n) * stride) + ")";
            string dX = layer == 0 ? inputGradients[0].Span : SequenceGradientArray(n, layer - 1) + ".AsSpan(0, batch * " + CpuEmitter.Int(Steps(plan, n) * stride) + ")";
            for (int d = 0; d < Directions(n); d++)
            {
                bool accumulate = d > 0 || (layer == 0 && inputGradients[0].Accumulate);
                string dStates = layer == 0 && h0 is not null ? hiddenGradient + ", " + (c0 is not null ? cellGradient : "default") : "default, default";
                string states = layer == 0 && h0 is not null ? h0 + ", " + (c0 ?? "default") : "default, default";
                w.Line(Cpu + ".Recurrent.Backward(" + dX + ", accumulate: " + (accumulate ? "true" : "false") + ", " + dStates + ",");
                w.Line("    " + Weights(plan, n, layer, d, gradient: true) + ",");
                w.Line("    " + dY + ", outStride: " + CpuEmitter.Int(stride) + ", outOffset: " + CpuEmitter.Int(d * Hidden(n)) + ", default,");
                w.Line("    " + x + ", " + states + ", " + Param(plan, n, layer, d, 0, false) + ", " + Param(plan, n, layer, d, 1, false) + ", " + y + ",");
                w.Line("    batch, " + Geometry(n, layer, d) + ", " + Workspace(n, layer, d) + ", _recurrentScratch);");
                if (layer == 0 && h0 is not null)
                    w.Line(Cpu + ".Elementwise.CopyOrAdd(" + inputGradients[1].Span + ", " + hiddenGradient + ", accumulate: " + (inputGradients[1].Accumulate ? "true" : "false") + "); // initial hidden state");
                if (layer == 0 && c0 is not null)
                    w.Line(Cpu + ".Elementwise.CopyOrAdd(" + inputGradients[2].Span + ", " + cellGradient + ", accumulate: " + (inputGradients[2].Accumulate ? "true" : "false") + "); // initial cell state");
            }
        }
    }
}
