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
            root[node.Id] = node.Op == OpKind.Flatten ? root[node.Inputs[0]] : node.Id;

        // Training: keep everything (each root gets its own block).
        var trainOffset = new int[n];
        int trainSize = 0;
        foreach (var node in spec.Nodes)
        {
            if (root[node.Id] != node.Id) { trainOffset[node.Id] = trainOffset[root[node.Id]]; continue; }
            trainOffset[node.Id] = trainSize;
            trainSize += node.Shape.Size;
        }

        // Inference: a root is live from its definition to the last read of it or of any alias.
        var lastUse = new int[n];
        foreach (var node in spec.Nodes)
        {
            int r = root[node.Id];
            lastUse[r] = Math.Max(lastUse[r], node.Id == spec.Output ? int.MaxValue : node.Id);
            foreach (var c in consumers[node.Id]) lastUse[r] = Math.Max(lastUse[r], c);
        }
        // Inputs are read from the caller's span in inference, so they take no arena space there.
        var inferIntervals = spec.Nodes.Where(x => root[x.Id] == x.Id && x.Op != OpKind.Input)
            .Select(x => new Interval(x.Id, x.Id, lastUse[x.Id], x.Shape.Size)).ToList();
        var (inferRootOffset, inferSize) = Allocate(inferIntervals, n);
        var inferOffset = new int[n];
        foreach (var node in spec.Nodes) inferOffset[node.Id] = node.Op == OpKind.Input ? -1 : inferRootOffset[root[node.Id]];

        // Gradients: backward runs nodes in reverse; time t = n-1-id. The gradient of a node is
        // written by its latest consumer and read when the node itself is processed. Input
        // gradients stay valid after Backward returns.
        var gradIntervals = new List<Interval>();
        foreach (var node in spec.Nodes)
        {
            if (node.Id == spec.Output || consumers[node.Id].Count == 0) continue;
            int start = n - 1 - consumers[node.Id].Max();
            int end = node.Op == OpKind.Input ? int.MaxValue : n - 1 - node.Id;
            gradIntervals.Add(new Interval(node.Id, start, end, node.Shape.Size));
        }
        var (gradOffset, gradSize) = Allocate(gradIntervals, n);
        if (spec.Output >= 0) gradOffset[spec.Output] = -1;

        int scratch = 0;
        foreach (var node in spec.Nodes.Where(x => x.Op == OpKind.Conv2d))
        {
            var input = spec.Nodes[node.Inputs[0]].Shape;
            scratch = Math.Max(scratch, input.C * node.Kernel * node.Kernel * node.Shape.H * node.Shape.W);
        }

        var paramOffset = new int[spec.Parameters.Count];
        int paramCount = 0;
        foreach (var p in spec.Parameters)
        {
            paramOffset[p.Index] = paramCount;
            paramCount += p.Size;
        }

        var needsParamGrad = new bool[n];
        foreach (var node in spec.Nodes)
            needsParamGrad[node.Id] = node.HasParameters || node.Inputs.Any(i => needsParamGrad[i]);

        return new Plan
        {
            Spec = spec, Consumers = consumers, TrainOffset = trainOffset, TrainSize = trainSize,
            InferOffset = inferOffset, InferSize = inferSize, GradOffset = gradOffset, GradSize = gradSize,
            ScratchSize = scratch, ParamOffset = paramOffset, ParamCount = paramCount,
            NeedsParamGrad = needsParamGrad, StorageRoot = root,
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
