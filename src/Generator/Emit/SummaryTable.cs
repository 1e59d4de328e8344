using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetGen.Generator.Model;
using NetGen.Generator.Planning;

namespace NetGen.Generator.Emit;

/// <summary>The compile-time summary: layers, shapes, parameters, FLOPs and arena sizes (like torchinfo).</summary>
internal static class SummaryTable
{
    /// <summary>Forward FLOPs per sample (a multiply-add counts 2).</summary>
    public static long Flops(Plan plan, NodeSpec node)
    {
        var spec = plan.Spec;
        var input = node.Inputs.Count > 0 ? spec.Nodes[node.Inputs[0]].Shape : node.Shape;
        long outSize = node.Shape.Size;
        return node.Op switch
        {
            OpKind.Conv2d => 2L * outSize * input.C * node.Kernel * node.Kernel + (node.Bias >= 0 ? outSize : 0),
            OpKind.Dense => 2L * outSize * input.Size + (node.Bias >= 0 ? outSize : 0),
            OpKind.AvgPool2d or OpKind.MaxPool2d => outSize * node.Kernel * node.Kernel,
            OpKind.Tanh or OpKind.Sigmoid or OpKind.Relu or OpKind.Add or OpKind.Multiply => outSize,
            OpKind.Softmax => 3L * outSize,
            OpKind.BatchNorm or OpKind.LeakyRelu or OpKind.Dropout => 2L * outSize,
            OpKind.LocalResponseNorm => (2L * node.Kernel + 4) * outSize,
            OpKind.AdaptiveAvgPool2d => input.Size,
            OpKind.ConvTranspose2d => 2L * input.Size * node.Shape.C * node.Kernel * node.Kernel + (node.Bias >= 0 ? outSize : 0),
            OpKind.Upsample => outSize * (node.CeilMode ? 8 : 1),
            OpKind.Exp or OpKind.Scale or OpKind.Step => outSize,
            OpKind.Recurrent => RecurrentFlops(plan, node),
            _ => 0,
        };
    }

    /// <summary>2 x (input-to-hidden + hidden-to-hidden) multiply-adds per gate, step, layer and direction.</summary>
    private static long RecurrentFlops(Plan plan, NodeSpec node)
    {
        long total = 0;
        int steps = plan.Spec.Nodes[node.Inputs[0]].Shape.Dims[0], hidden = node.Kernel, directions = node.Padding;
        int gates = node.Extra == 1 ? 4 : node.Extra == 2 ? 3 : 1;
        for (int layer = 0; layer < node.Stride; layer++)
        {
            int input = layer == 0 ? plan.Spec.Nodes[node.Inputs[0]].Shape.Dims[1] : hidden * directions;
            total += 2L * steps * gates * hidden * (input + hidden) * directions;
        }
        return total;
    }

    public static int Params(Plan plan, NodeSpec node, HashSet<int> counted)
    {
        int total = 0;
        var indexes = node.Op == OpKind.Recurrent ? Enumerable.Range(node.Weight, node.RecurrentParameterCount) : new[] { node.Weight, node.Bias };
        foreach (int p in indexes)
            if (p >= 0 && counted.Add(p)) total += plan.Param(p).Size;
        return total;
    }

    /// <summary>Short legend for the top of the generated file.</summary>
    public static IEnumerable<string> Legend(Plan plan)
    {
        var spec = plan.Spec;
        int nameWidth = NameWidth(spec, 14), opWidth = OpWidth(spec);
        yield return "  " + "node".PadRight(nameWidth) + "op".PadRight(opWidth) + "shape";
        foreach (var node in spec.Nodes)
        {
            string inputs = node.Inputs.Count == 0 ? "" : "  <- " + string.Join(", ", node.Inputs.Select(i => spec.Nodes[i].Name));
            yield return "  " + node.Name.PadRight(nameWidth) + node.Op.ToString().PadRight(opWidth) + node.Shape + inputs;
        }
        yield return "";
    }

    public static IEnumerable<string> Lines(Plan plan)
    {
        var spec = plan.Spec;
        var counted = new HashSet<int>();
        yield return spec.ClassName + " (NetGen, CPU)";
        int nameWidth = NameWidth(spec, 16), opWidth = OpWidth(spec);
        int shapeWidth = System.Math.Max(14, spec.Nodes.Max(n => n.Shape.ToString().Length) + 2);
        string rule = new string('-', nameWidth + opWidth + shapeWidth + 30);
        yield return rule;
        yield return "Layer".PadRight(nameWidth) + "Op".PadRight(opWidth) + "Output".PadRight(shapeWidth) + "Params".PadLeft(14) + "FLOPs".PadLeft(16);
        yield return rule;
        long flops = 0;
        foreach (var node in spec.Nodes)
        {
            int p = Params(plan, node, counted);
            long f = Flops(plan, node);
            flops += f;
            yield return node.Name.PadRight(nameWidth) + node.Op.ToString().PadRight(opWidth) + node.Shape.ToString().PadRight(shapeWidth) + N(p).PadLeft(14) + N(f).PadLeft(16);
        }
        yield return rule;
        yield return "Total parameters: " + N(plan.ParamCount) + " (" + Bytes(4L * plan.ParamCount) + ")" +
                     (plan.BufferCount > 0 ? "; buffers (running statistics): " + N(plan.BufferCount) : "");
        int folded = plan.FoldSource.Count(f => f >= 0);
        if (folded > 0)
            yield return "Inference: " + N(folded) + " BatchNorm" + (folded == 1 ? "" : "s") + " folded into the preceding convolution";
        int fused = plan.ReluFusedInto.Count(f => f >= 0);
        if (fused > 0)
            yield return "Inference: " + N(fused) + " ReLU" + (fused == 1 ? "" : "s") + " fused into the convolution or addition before " + (fused == 1 ? "it" : "them");
        yield return "Forward FLOPs per sample: " + N(flops);
        yield return "Activation arena per sample: training " + N(plan.TrainSize) + " floats (" + Bytes(4L * plan.TrainSize) + "), inference " + N(plan.InferSize) + " floats (" + Bytes(4L * plan.InferSize) + ")";
        yield return "Gradient arena per sample: " + N(plan.GradSize) + " floats (" + Bytes(4L * plan.GradSize) + "); im2col scratch " + N(plan.ScratchSize) + " floats";
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Every name fits with two spaces to spare (at least <paramref name="minimum"/>).</summary>
    private static int NameWidth(NetworkSpec spec, int minimum) => System.Math.Max(minimum, spec.Nodes.Max(n => n.Name.Length) + 2);

    private static int OpWidth(NetworkSpec spec) => System.Math.Max(11, spec.Nodes.Max(n => n.Op.ToString().Length) + 2);

    private static string Bytes(long bytes) => bytes switch
    {
        < 1L << 20 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KB",
        < 1L << 30 => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GB",
    };
}
