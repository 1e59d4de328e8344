using System;
using System.Collections.Generic;
using System.Linq;
using NetGen.Generator.Model;

namespace NetGen.Generator.Planning;

/// <summary>
/// The compile-time memory and execution plan of a network. All sizes are per sample, in floats;
/// the runtime multiplies activation offsets by the capacity (maximum batch) so each buffer is one
/// contiguous [capacity, size] block of the arena.
/// </summary>
internal sealed class Plan
{
    public required NetworkSpec Spec { get; init; }

    /// <summary>Consumers of each node, in forward order.</summary>
    public required List<int>[] Consumers { get; init; }

    /// <summary>Training layout: every activation kept for backward (offset per node).</summary>
    public required int[] TrainOffset { get; init; }

    public required int TrainSize { get; init; }

    /// <summary>Inference layout: a buffer is reused as soon as its last reader has run.</summary>
    public required int[] InferOffset { get; init; }

    public required int InferSize { get; init; }

    /// <summary>Activation-gradient layout (-1 for the output, whose gradient is the caller's span).</summary>
    public required int[] GradOffset { get; init; }

    public required int GradSize { get; init; }

    /// <summary>Per-sample im2col scratch for the largest convolution.</summary>
    public required int ScratchSize { get; init; }

    /// <summary>Flat offset of each parameter tensor.</summary>
    public required int[] ParamOffset { get; init; }

    public required int ParamCount { get; init; }

    /// <summary>True when a node's gradient is needed for some parameter gradient (else only for input gradients).</summary>
    public required bool[] NeedsParamGrad { get; init; }

    /// <summary>Nodes whose activation buffer is the same memory as their input's (Flatten is a pure reshape).</summary>
    public required int[] StorageRoot { get; init; }

    /// <summary>Like <see cref="StorageRoot"/> for the inference layout, where Dropout is the identity too.</summary>
    public required int[] InferRoot { get; init; }

    /// <summary>Training-arena offset of a Dropout node's mask (per sample, like activations), else -1.</summary>
    public required int[] MaskOffset { get; init; }

    /// <summary>Offset of a BatchNorm node's batch mean (then 1/std) in the batch-statistics array, else -1.</summary>
    public required int[] StatsOffset { get; init; }

    public required int StatsSize { get; init; }

    /// <summary>
    /// Inference-time folding: for a convolution read only by a BatchNorm, the BatchNorm's id (else -1); the pair runs
    /// as one convolution with folded weights in inference.
    /// </summary>
    public required int[] FoldedInto { get; init; }

    /// <summary>For a BatchNorm folded in inference, the convolution it is folded into (else -1).</summary>
    public required int[] FoldSource { get; init; }

    /// <summary>Offset of a folded BatchNorm's weights (then its outChannels biases) in the folded-weights array.</summary>
    public required int[] FoldOffset { get; init; }

    public required int FoldSize { get; init; }

    /// <summary>
    /// Inference-time ReLU fusion: for a folded BatchNorm or an Add whose only reader is a Relu, that Relu's id (else
    /// -1). In inference the node applies the ReLU itself (the convolution's epilogue, or one add-and-clamp pass) and
    /// the Relu is an alias of its buffer.
    /// </summary>
    public required int[] FusedRelu { get; init; }

    /// <summary>For a Relu that runs inside its input's node in inference, that node's id (else -1).</summary>
    public required int[] ReluFusedInto { get; init; }

    /// <summary>Number of buffer floats (BatchNorm running statistics), stored after the trainable parameters.</summary>
    public required int BufferCount { get; init; }

    public NodeSpec Node(int id) => Spec.Nodes[id];

    public ParamSpec Param(int index) => Spec.Parameters[index];
}

internal static class Planner
{
    public static Plan Build(NetworkSpec spec)
    {
        int n = spec.Nodes.Count;
        var consumers = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        foreach (var node in spec.Nodes)
            foreach (var input in node.Inputs.Distinct())
                consumers[input].Add(node.Id);

        // Flatten is a reshape: it shares its input's storage in the forward pass.
        var root = new int[n];
        foreach (var node in spec.Nodes)
            root[node.Id] = node.Op is OpKind.Flatten or OpKind.Reshape ? root[node.Inputs[0]] : node.Id;

        // Training: keep everything (each root gets its own block); a Dropout keeps its mask after its output.
        var trainOffset = new int[n];
        var maskOffset = Enumerable.Repeat(-1, n).ToArray();
        int trainSize = 0;
        foreach (var node in spec.Nodes)
        {
            if (root[node.Id] != node.Id) { trainOffset[node.Id] = trainOffset[root[node.Id]]; continue; }
            trainOffset[node.Id] = trainSize;
            trainSize += node.Shape.Size;
            if (node.Op == OpKind.Dropout)
            {
                maskOffset[node.Id] = trainSize;
                trainSize += node.Shape.Size;
            }
        }

        // Inference-time folding: a convolution whose only reader is a BatchNorm becomes one convolution with
        // W' = W * gamma / sqrt(var + eps) and b' = (b - mean) * gamma / sqrt(var + eps) + beta.
        var foldedInto = Enumerable.Repeat(-1, n).ToArray();
        var foldSource = Enumerable.Repeat(-1, n).ToArray();
        var foldOffset = Enumerable.Repeat(-1, n).ToArray();
        int foldSize = 0;
        foreach (var node in spec.Nodes.Where(x => x.Op == OpKind.BatchNorm))
        {
            var source = spec.Nodes[node.Inputs[0]];
            if (source.Op != OpKind.Conv2d || consumers[source.Id].Count != 1 || spec.IsOutput(source.Id)) continue;
            foldedInto[source.Id] = node.Id;
            foldSource[node.Id] = source.Id;
            foldOffset[node.Id] = foldSize;
            foldSize += spec.Parameters[source.Weight].Size + source.Shape.C;
        }

        // Inference-time ReLU fusion: a Relu whose input is a folded BatchNorm or an Add, read by nothing else, is
        // applied by that node to its own output, which saves a pass over memory.
        var fusedRelu = Enumerable.Repeat(-1, n).ToArray();
        var reluFusedInto = Enumerable.Repeat(-1, n).ToArray();
        foreach (var node in spec.Nodes.Where(x => x.Op == OpKind.Relu))
        {
            var source = spec.Nodes[node.Inputs[0]];
            bool fusable = (source.Op == OpKind.BatchNorm && foldSource[source.Id] >= 0) || source.Op == OpKind.Add;
            if (!fusable || consumers[source.Id].Count != 1 || spec.IsOutput(source.Id)) continue;
            fusedRelu[source.Id] = node.Id;
            reluFusedInto[node.Id] = source.Id;
        }

        // Inference: Dropout is the identity (an alias, like Flatten), so is a fused Relu, a folded convolution takes
        // no buffer, and a root is live from its definition to the last read of it or of any alias.
        var inferRoot = new int[n];
        foreach (var node in spec.Nodes)
            inferRoot[node.Id] = node.Op is OpKind.Flatten or OpKind.Reshape or OpKind.Dropout || reluFusedInto[node.Id] >= 0
                ? inferRoot[node.Inputs[0]] : node.Id;
        var lastUse = new int[n];
        foreach (var node in spec.Nodes)
        {
            int r = inferRoot[node.Id];
            if (spec.IsOutput(node.Id)) lastUse[r] = int.MaxValue;
            lastUse[r] = Math.Max(lastUse[r], node.Id);
            if (foldedInto[node.Id] >= 0) continue; // read by the folded BatchNorm instead
            var reads = foldSource[node.Id] >= 0 ? spec.Nodes[foldSource[node.Id]].Inputs : node.Inputs;
            foreach (var i in reads) lastUse[inferRoot[i]] = Math.Max(lastUse[inferRoot[i]], node.Id);
        }
        // Inputs are read from the caller's span in inference, so they take no arena space there.
        var inferIntervals = spec.Nodes.Where(x => inferRoot[x.Id] == x.Id && x.Op != OpKind.Input && foldedInto[x.Id] < 0)
            .Select(x => new Interval(x.Id, x.Id, lastUse[x.Id], x.Shape.Size)).ToList();
        var (inferRootOffset, inferSize) = Allocate(inferIntervals, n);
        var inferOffset = new int[n];
        foreach (var node in spec.Nodes) inferOffset[node.Id] = inferRootOffset[inferRoot[node.Id]];

        var statsOffset = Enumerable.Repeat(-1, n).ToArray();
        int statsSize = 0;
        foreach (var node in spec.Nodes.Where(x => x.Op == OpKind.BatchNorm))
        {
            statsOffset[node.Id] = statsSize;
            statsSize += 2 * node.Shape.Dims[0];
        }

        // Gradients: backward runs nodes in reverse; time t = n-1-id. The gradient of a node is
        // written by its latest consumer and read when the node itself is processed. Input
        // gradients stay valid after Backward returns. An output's gradient is the caller's span,
        // unless other nodes read that output too: then it is copied into the arena at time 0 and
        // the readers add to it.
        var gradIntervals = new List<Interval>();
        foreach (var node in spec.Nodes)
        {
            if (consumers[node.Id].Count == 0) continue;
            int start = spec.IsOutput(node.Id) ? 0 : n - 1 - consumers[node.Id].Max();
            int end = node.Op == OpKind.Input ? int.MaxValue : n - 1 - node.Id;
            gradIntervals.Add(new Interval(node.Id, start, end, node.Shape.Size));
        }
        var (gradOffset, gradSize) = Allocate(gradIntervals, n);
        foreach (var o in spec.Outputs)
            if (consumers[o.Node].Count == 0) gradOffset[o.Node] = -1;

        int scratch = 0;
        foreach (var node in spec.Nodes.Where(x => x.Op == OpKind.Conv2d))
        {
            var input = spec.Nodes[node.Inputs[0]].Shape;
            scratch = Math.Max(scratch, input.C * node.Kernel * node.Kernel * node.Shape.H * node.Shape.W);
        }
        foreach (var node in spec.Nodes.Where(x => x.Op == OpKind.ConvTranspose2d))
        {
            var input = spec.Nodes[node.Inputs[0]].Shape;
            scratch = Math.Max(scratch, node.Shape.C * node.Kernel * node.Kernel * input.H * input.W);
        }

        // Trainable parameters first (what the optimizer sees), then the buffers (saved, not trained).
        var paramOffset = new int[spec.Parameters.Count];
        int paramCount = 0, bufferCount = 0;
        foreach (var p in spec.Parameters.Where(p => !p.IsBuffer))
        {
            paramOffset[p.Index] = paramCount;
            paramCount += p.Size;
        }
        foreach (var p in spec.Parameters.Where(p => p.IsBuffer))
        {
            paramOffset[p.Index] = paramCount + bufferCount;
            bufferCount += p.Size;
        }

        var needsParamGrad = new bool[n];
        foreach (var node in spec.Nodes)
            needsParamGrad[node.Id] = node.HasParameters || node.Inputs.Any(i => needsParamGrad[i]);

        return new Plan
        {
            Spec = spec, Consumers = consumers, TrainOffset = trainOffset, TrainSize = trainSize,
            InferOffset = inferOffset, InferSize = inferSize, GradOffset = gradOffset, GradSize = gradSize,
            ScratchSize = scratch, ParamOffset = paramOffset, ParamCount = paramCount,
            NeedsParamGrad = needsParamGrad, StorageRoot = root, InferRoot = inferRoot, MaskOffset = maskOffset,
            StatsOffset = statsOffset, StatsSize = statsSize, FoldedInto = foldedInto, FoldSource = foldSource,
            FoldOffset = foldOffset, FoldSize = foldSize, BufferCount = bufferCount,
            FusedRelu = fusedRelu, ReluFusedInto = reluFusedInto,
        };
    }

    private readonly record struct Interval(int Node, int Start, int End, int Size);

    /// <summary>First-fit placement of live intervals, in order of their start.</summary>
    private static (int[] Offsets, int Size) Allocate(List<Interval> intervals, int nodeCount)
    {
        var offsets = Enumerable.Repeat(-1, nodeCount).ToArray();
        var placed = new List<(Interval Interval, int Offset)>();
        int size = 0;
        foreach (var interval in intervals.OrderBy(i => i.Start).ThenBy(i => i.Node))
        {
            var busy = placed.Where(p => p.Interval.Start <= interval.End && interval.Start <= p.Interval.End)
                .OrderBy(p => p.Offset).ToList();
            int offset = 0;
            foreach (var (other, otherOffset) in busy)
            {
                if (offset + interval.Size <= otherOffset) break;
                offset = Math.Max(offset, otherOffset + other.Size);
            }
            offsets[interval.Node] = offset;
            placed.Add((interval, offset));
            size = Math.Max(size, offset + interval.Size);
        }
        return (offsets, size);
    }
}
