using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>Recurrent cell kind: <see cref="Rnn"/> is PyTorch's nn.RNN with tanh.</summary>
public enum RecurrentCell { Rnn, Lstm, Gru }

/// <summary>
/// One layer, one direction of a recurrent network (PyTorch nn.RNN / nn.LSTM / nn.GRU, batch_first).
/// Gate rows in the weights: LSTM i, f, g, o; GRU r, z, n (PyTorch's order, so weights move unchanged).
/// </summary>
public readonly record struct RecurrentGeometry(RecurrentCell Cell, int Steps, int InputSize, int HiddenSize, bool Reverse)
{
    /// <summary>Gates per hidden unit: RNN 1, LSTM 4 (i, f, g, o), GRU 3 (r, z, n).</summary>
    public int Gates => Cell switch { RecurrentCell.Rnn => 1, RecurrentCell.Lstm => 4, _ => 3 };

    /// <summary>Rows of weightIh / weightHh and length of the biases: Gates * HiddenSize.</summary>
    public int GateSize => Gates * HiddenSize;

    /// <summary>
    /// Floats per sample of the forward workspace (Forward writes it, Backward reads it):
    /// Steps * (GateSize + HiddenSize * (RNN 1, LSTM 3, GRU 2)) + GateSize — the activated gates of every
    /// step, every step's hidden state (time-major copy), LSTM cell states and tanh(c), GRU's W_hn h + b_hn,
    /// and one step's recurrent product (a forward temporary).
    /// </summary>
    public int WorkspaceSize => checked(Steps * (GateSize + HiddenSize * StateRegions) + GateSize);

    /// <summary>
    /// Floats per sample of the backward scratch: 2 * Steps * GateSize + HiddenSize (LSTM: + 2 * HiddenSize) —
    /// the pre-activation gate gradients of every step (input side and recurrent side) and the running dh (and dc).
    /// </summary>
    public int ScratchSize => checked(2 * Steps * GateSize + HiddenSize * (Cell == RecurrentCell.Lstm ? 2 : 1));

    /// <summary>[batch, HiddenSize] regions per step besides the gates: h, and LSTM c and tanh(c), GRU W_hn h + b_hn.</summary>
    internal int StateRegions => Cell switch { RecurrentCell.Lstm => 3, RecurrentCell.Gru => 2, _ => 1 };
}

/// <summary>
/// Recurrent layers with PyTorch's equations (one layer, one direction per call; the generated code stacks
/// layers and directions):
/// <code>
/// RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
/// LSTM: i, f, o = sigmoid(..), g = tanh(..) (rows i, f, g, o);  c' = f c + i g;  h' = o tanh(c')
/// GRU:  r, z = sigmoid(W_i. x + b_i. + W_h. h + b_h.);  n = tanh(W_in x + b_in + r (W_hn h + b_hn));  h' = (1 - z) n + z h
/// </code>
/// The input products of all steps are one <see cref="Gemm"/>; only the recurrent product runs step by step.
/// Sequences are batch-major [batch, Steps, features]; this direction's h_t sits at columns
/// [outOffset, outOffset + HiddenSize) of rows of length outStride (a bidirectional layer writes the forward
/// direction at offset 0 and the reverse one at offset H of a [batch, Steps, 2H] buffer).
/// </summary>
public static unsafe class Recurrent
{
    // ================================================================ Forward

    /// <summary>
    /// Runs the recurrence over <c>g.Steps</c> steps (t = 0 .. Steps-1, or Steps-1 .. 0 when <c>g.Reverse</c>).
    /// input [batch, Steps, InputSize]; output rows [batch, Steps, outStride], only columns
    /// [outOffset, outOffset + H) written; initialHidden / initialCell [batch, H] or empty for zeros (initialCell:
    /// LSTM only); weightIh [G, InputSize], weightHh [G, H], biasIh / biasHh [G] or empty (G = g.GateSize);
    /// workspace [batch * g.WorkspaceSize], which Backward needs unchanged.
    /// </summary>
    public static void Forward(Span<float> output, int outStride, int outOffset, ReadOnlySpan<float> input,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        int batch, in RecurrentGeometry g, Span<float> workspace)
        => Forward(Simd.Best, output, outStride, outOffset, input, initialHidden, initialCell,
            weightIh, weightHh, biasIh, biasHh, batch, g, workspace);

    internal static void Forward(SimdPath path, Span<float> output, int outStride, int outOffset, ReadOnlySpan<float> input,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        int batch, in RecurrentGeometry g, Span<float> workspace)
    {
        CheckGeometry(g, batch);
        int steps = g.Steps, inSize = g.InputSize, hidden = g.HiddenSize, gates = g.GateSize;
        CheckSequence(output.Length, outStride, outOffset, batch, g, nameof(output));
        Guard.AtLeast(input.Length, (long)batch * steps * inSize, nameof(input));
        CheckStates(initialHidden.Length, initialCell.Length, batch, g, nameof(initialHidden), nameof(initialCell));
        Guard.AtLeast(weightIh.Length, (long)gates * inSize, nameof(weightIh));
        Guard.AtLeast(weightHh.Length, (long)gates * hidden, nameof(weightHh));
        Guard.EmptyOrAtLeast(biasIh.Length, gates, nameof(biasIh));
        Guard.EmptyOrAtLeast(biasHh.Length, gates, nameof(biasHh));
        Guard.AtLeast(workspace.Length, (long)batch * g.WorkspaceSize, nameof(workspace));
        if (batch == 0) return;

        var w = new WorkspaceLayout(g, batch);
        int rows = batch * steps, slot = batch * hidden;
        Span<float> gateValues = workspace.Slice(w.Gates, rows * gates);
        Span<float> hh = workspace.Slice(w.RecurrentProduct, batch * gates);

        // 1. Input products of every step at once, plus the biases that add straight into the pre-activations:
        //    gates[b, t, :] = x[b, t] W_ih^T + b_ih + b_hh (GRU: b_hh of r and z only; b_hn sits inside r * (..)).
        bool hasBiasIh = biasIh.Length != 0;
        if (hasBiasIh)
        {
            ReadOnlySpan<float> bias = biasIh.Slice(0, gates);
            for (int r = 0; r < rows; r++) bias.CopyTo(gateValues.Slice(r * gates, gates));
        }
        Gemm.Multiply(path, false, true, rows, gates, inSize, input, weightIh, gateValues, accumulate: hasBiasIh);
        if (biasHh.Length != 0)
        {
            int folded = g.Cell == RecurrentCell.Gru ? 2 * hidden : gates;
            ReadOnlySpan<float> bias = biasHh.Slice(0, folded);
            for (int r = 0; r < rows; r++) Elementwise.CopyOrAdd(path, gateValues.Slice(r * gates, folded), bias, accumulate: true);
        }

        // 2. The recurrence: hh = h_prev W_hh^T (one [batch, H] x [H, G] product per step), then the cell's pointwise math.
        ReadOnlySpan<float> h0 = initialHidden.Length != 0 ? initialHidden.Slice(0, slot) : default;
        ReadOnlySpan<float> c0 = initialCell.Length != 0 ? initialCell.Slice(0, slot) : default;
        for (int s = 0; s < steps; s++)
        {
            ReadOnlySpan<float> hPrev = s == 0 ? h0 : workspace.Slice(w.Hidden + (s - 1) * slot, slot);
            if (hPrev.Length != 0) Gemm.Multiply(path, false, true, batch, gates, hidden, hPrev, weightHh, hh, accumulate: false);
            else hh.Clear();
            ReadOnlySpan<float> cPrev = g.Cell != RecurrentCell.Lstm ? default : s == 0 ? c0 : workspace.Slice(w.Cell + (s - 1) * slot, slot);
            fixed (float* pWs = workspace, pOut = output, pHPrev = hPrev, pCPrev = cPrev, pBias = biasHh)
            {
                var a = new StepForwardArgs
                {
                    Gates = pWs + w.Gates,
                    Hh = pWs + w.RecurrentProduct,
                    HPrev = pHPrev,
                    CPrev = pCPrev,
                    H = pWs + w.Hidden + s * slot,
                    C = g.Cell == RecurrentCell.Lstm ? pWs + w.Cell + s * slot : null,
                    TanhC = g.Cell == RecurrentCell.Lstm ? pWs + w.TanhCell + s * slot : null,
                    Hn = g.Cell == RecurrentCell.Gru ? pWs + w.Hn + s * slot : null,
                    BiasHn = g.Cell == RecurrentCell.Gru && biasHh.Length != 0 ? pBias + 2 * hidden : null,
                    Out = pOut,
                    OutStride = outStride, OutOffset = outOffset, Steps = steps, Time = TimeOf(g, s),
                    Hidden = hidden, Batch = batch, Cell = g.Cell,
                };
                switch (path)
                {
                    case SimdPath.Vector512: StepForward<Vector512<float>, Vector512Ops>(in a); break;
                    case SimdPath.Vector256: StepForward<Vector256<float>, Vector256Ops>(in a); break;
                    case SimdPath.Vector128: StepForward<Vector128<float>, Vector128Ops>(in a); break;
                    default: StepForward<float, ScalarOps>(in a); break;
                }
            }
        }
    }

    /// <summary>
    /// Copies the LSTM cell state after the last processed step (PyTorch's c_n for this direction) out of the
    /// forward workspace: destination [batch, H]. Its gradient enters Backward as dFinalCell.
    /// </summary>
    public static void FinalCell(Span<float> destination, ReadOnlySpan<float> workspace, int batch, in RecurrentGeometry g)
    {
        CheckGeometry(g, batch);
        if (g.Cell != RecurrentCell.Lstm) throw new ArgumentException("Only an LSTM has a cell state.", nameof(g));
        Guard.AtLeast(destination.Length, (long)batch * g.HiddenSize, nameof(destination));
        Guard.AtLeast(workspace.Length, (long)batch * g.WorkspaceSize, nameof(workspace));
        if (batch == 0) return;
        var w = new WorkspaceLayout(g, batch);
        int slot = batch * g.HiddenSize;
        workspace.Slice(w.Cell + (g.Steps - 1) * slot, slot).CopyTo(destination);
    }

    // ================================================================ Backward

    /// <summary>
    /// Backpropagation through time. dOutput has output's layout (only this direction's columns are read; empty =
    /// no gradient on the sequence); dFinalHidden / dFinalCell [batch, H] or empty: extra gradient on the state
    /// after the last processed step (t = Steps-1, or t = 0 when Reverse; dFinalCell LSTM only).
    /// dInput [batch, Steps, InputSize] (=|+= per accumulate); dInitialHidden / dInitialCell [batch, H] overwritten,
    /// or empty when not wanted; dWeightIh, dWeightHh, dBiasIh, dBiasHh accumulate (+=), each may be empty to skip it
    /// (a frozen network passes all four empty).
    /// Reads input, initialHidden / initialCell, the weights and the forward's workspace. <paramref name="output"/> is
    /// NOT read (the workspace keeps every step's state; any length, may be empty). scratch [batch * g.ScratchSize].
    /// dFinalCell (last, optional) is the LSTM's extra gradient on c_n.
    /// </summary>
    public static void Backward(Span<float> dInput, bool accumulate, Span<float> dInitialHidden, Span<float> dInitialCell,
        Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh,
        ReadOnlySpan<float> dOutput, int outStride, int outOffset, ReadOnlySpan<float> dFinalHidden,
        ReadOnlySpan<float> input, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> output,
        int batch, in RecurrentGeometry g, ReadOnlySpan<float> workspace, Span<float> scratch,
        ReadOnlySpan<float> dFinalCell = default)
        => Backward(Simd.Best, dInput, accumulate, dInitialHidden, dInitialCell, dWeightIh, dWeightHh, dBiasIh, dBiasHh,
            dOutput, outStride, outOffset, dFinalHidden, input, initialHidden, initialCell,
            weightIh, weightHh, output, batch, g, workspace, scratch, dFinalCell);

    internal static void Backward(SimdPath path, Span<float> dInput, bool accumulate, Span<float> dInitialHidden, Span<float> dInitialCell,
        Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh,
        ReadOnlySpan<float> dOutput, int outStride, int outOffset, ReadOnlySpan<float> dFinalHidden,
        ReadOnlySpan<float> input, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> output,
        int batch, in RecurrentGeometry g, ReadOnlySpan<float> workspace, Span<float> scratch, ReadOnlySpan<float> dFinalCell)
    {
        _ = output;   // not read: the workspace holds every step's state, so later layers may overwrite the output
        CheckGeometry(g, batch);
        int steps = g.Steps, inSize = g.InputSize, hidden = g.HiddenSize, gates = g.GateSize;
        bool lstm = g.Cell == RecurrentCell.Lstm, gru = g.Cell == RecurrentCell.Gru;
        Guard.AtLeast(dInput.Length, (long)batch * steps * inSize, nameof(dInput));
        CheckStates(dInitialHidden.Length, dInitialCell.Length, batch, g, nameof(dInitialHidden), nameof(dInitialCell));
        Guard.EmptyOrAtLeast(dWeightIh.Length, (long)gates * inSize, nameof(dWeightIh));
        Guard.EmptyOrAtLeast(dWeightHh.Length, (long)gates * hidden, nameof(dWeightHh));
        Guard.EmptyOrAtLeast(dBiasIh.Length, gates, nameof(dBiasIh));
        Guard.EmptyOrAtLeast(dBiasHh.Length, gates, nameof(dBiasHh));
        if (dOutput.Length != 0) CheckSequence(dOutput.Length, outStride, outOffset, batch, g, nameof(dOutput));
        CheckStates(dFinalHidden.Length, dFinalCell.Length, batch, g, nameof(dFinalHidden), nameof(dFinalCell));
        Guard.AtLeast(input.Length, (long)batch * steps * inSize, nameof(input));
        CheckStates(initialHidden.Length, initialCell.Length, batch, g, nameof(initialHidden), nameof(initialCell));
        Guard.AtLeast(weightIh.Length, (long)gates * inSize, nameof(weightIh));
        Guard.AtLeast(weightHh.Length, (long)gates * hidden, nameof(weightHh));
        Guard.AtLeast(workspace.Length, (long)batch * g.WorkspaceSize, nameof(workspace));
        Guard.AtLeast(scratch.Length, (long)batch * g.ScratchSize, nameof(scratch));
        if (batch == 0) return;

        var w = new WorkspaceLayout(g, batch);
        int rows = batch * steps, slot = batch * hidden;
        // scratch: daIh [batch, Steps, G] (batch-major by time t, like the input), daHh [Steps, batch, G]
        // (time-major by processing step s, like the hidden states in the workspace), dh [batch, H], dc [batch, H].
        Span<float> daIh = scratch.Slice(0, rows * gates);
        Span<float> daHh = scratch.Slice(rows * gates, rows * gates);
        Span<float> dh = scratch.Slice(2 * rows * gates, slot);
        Span<float> dc = lstm ? scratch.Slice(2 * rows * gates + slot, slot) : default;
        if (dFinalHidden.Length != 0) dFinalHidden.Slice(0, slot).CopyTo(dh); else dh.Clear();
        if (lstm) { if (dFinalCell.Length != 0) dFinalCell.Slice(0, slot).CopyTo(dc); else dc.Clear(); }

        ReadOnlySpan<float> h0 = initialHidden.Length != 0 ? initialHidden.Slice(0, slot) : default;
        ReadOnlySpan<float> c0 = initialCell.Length != 0 ? initialCell.Slice(0, slot) : default;
        for (int s = steps - 1; s >= 0; s--)
        {
            ReadOnlySpan<float> hPrev = !gru ? default : s == 0 ? h0 : workspace.Slice(w.Hidden + (s - 1) * slot, slot);
            ReadOnlySpan<float> cPrev = !lstm ? default : s == 0 ? c0 : workspace.Slice(w.Cell + (s - 1) * slot, slot);
            fixed (float* pWs = workspace, pScratch = scratch, pDy = dOutput, pHPrev = hPrev, pCPrev = cPrev)
            {
                var a = new StepBackwardArgs
                {
                    Gates = pWs + w.Gates,
                    TanhC = lstm ? pWs + w.TanhCell + s * slot : null,
                    Hn = gru ? pWs + w.Hn + s * slot : null,
                    HPrev = pHPrev,
                    CPrev = pCPrev,
                    DOut = dOutput.Length != 0 ? pDy : null,
                    DaIh = pScratch,
                    DaHh = pScratch + rows * gates + s * batch * gates,
                    Dh = pScratch + 2 * rows * gates,
                    Dc = lstm ? pScratch + 2 * rows * gates + slot : null,
                    OutStride = outStride, OutOffset = outOffset, Steps = steps, Time = TimeOf(g, s),
                    Hidden = hidden, Batch = batch, Cell = g.Cell,
                };
                switch (path)
                {
                    case SimdPath.Vector512: StepBackward<Vector512<float>, Vector512Ops>(in a); break;
                    case SimdPath.Vector256: StepBackward<Vector256<float>, Vector256Ops>(in a); break;
                    case SimdPath.Vector128: StepBackward<Vector128<float>, Vector128Ops>(in a); break;
                    default: StepBackward<float, ScalarOps>(in a); break;
                }
            }
            // dh_prev (=|+=) da_hh W_hh: the pointwise pass leaves z * dh in dh for a GRU, nothing to keep otherwise.
            if (s > 0 || dInitialHidden.Length != 0)
                Gemm.Multiply(path, false, false, batch, hidden, gates, daHh.Slice(s * batch * gates, batch * gates), weightHh, dh, accumulate: gru);
        }
        if (dInitialHidden.Length != 0) dh.CopyTo(dInitialHidden);
        if (dInitialCell.Length != 0) dc.CopyTo(dInitialCell);

        // Parameter gradients, each one product over all steps:
        // dW_ih += daIh^T x;  dW_hh += daHh[s]^T h_{s-1} (h of the previous processed step; h0 for s = 0, none when zero).
        if (dWeightIh.Length != 0) Gemm.Multiply(path, true, false, gates, inSize, rows, daIh, input, dWeightIh, accumulate: true);
        if (steps > 1 && dWeightHh.Length != 0)
            Gemm.Multiply(path, true, false, gates, hidden, (steps - 1) * batch, daHh.Slice(batch * gates),
                workspace.Slice(w.Hidden, (steps - 1) * slot), dWeightHh, accumulate: true);
        if (h0.Length != 0 && dWeightHh.Length != 0)
            Gemm.Multiply(path, true, false, gates, hidden, batch, daHh.Slice(0, batch * gates), h0, dWeightHh, accumulate: true);
        if (dBiasIh.Length != 0) SumRows(path, dBiasIh.Slice(0, gates), daIh, rows, gates);
        if (dBiasHh.Length != 0) SumRows(path, dBiasHh.Slice(0, gates), daHh, rows, gates);

        // dx (=|+=) daIh W_ih
        Gemm.Multiply(path, false, false, rows, inSize, gates, daIh, weightIh, dInput, accumulate);
    }

    // ================================================================ Many-to-one and step selection

    /// <summary>
    /// The state after the last processed step of each direction (PyTorch's h_n ordering): output [batch, H * directions]
    /// from sequence [batch, steps, H * directions]; the forward direction (columns [0, H)) at t = steps-1, the reverse
    /// one (columns [H, 2H), directions == 2) at t = 0.
    /// </summary>
    public static void LastStep(Span<float> output, ReadOnlySpan<float> sequence, int batch, int steps, int hidden, int directions)
    {
        CheckLastStep(output.Length, sequence.Length, batch, steps, hidden, directions, nameof(output), nameof(sequence));
        int width = hidden * directions;
        for (int b = 0; b < batch; b++)
            for (int d = 0; d < directions; d++)
            {
                int t = d == 0 ? steps - 1 : 0;
                sequence.Slice((b * steps + t) * width + d * hidden, hidden).CopyTo(output.Slice(b * width + d * hidden, hidden));
            }
    }

    /// <summary>Scatters dOutput [batch, H * directions] into those steps of dSequence (the other steps: zero unless accumulate).</summary>
    public static void LastStepBackward(Span<float> dSequence, ReadOnlySpan<float> dOutput, int batch, int steps, int hidden, int directions, bool accumulate)
        => LastStepBackward(Simd.Best, dSequence, dOutput, batch, steps, hidden, directions, accumulate);

    internal static void LastStepBackward(SimdPath path, Span<float> dSequence, ReadOnlySpan<float> dOutput,
        int batch, int steps, int hidden, int directions, bool accumulate)
    {
        CheckLastStep(dOutput.Length, dSequence.Length, batch, steps, hidden, directions, nameof(dOutput), nameof(dSequence));
        int width = hidden * directions;
        if (!accumulate) dSequence.Slice(0, batch * steps * width).Clear();
        for (int b = 0; b < batch; b++)
            for (int d = 0; d < directions; d++)
            {
                int t = d == 0 ? steps - 1 : 0;
                Elementwise.CopyOrAdd(path, dSequence.Slice((b * steps + t) * width + d * hidden, hidden),
                    dOutput.Slice(b * width + d * hidden, hidden), accumulate);
            }
    }

    /// <summary>Step <paramref name="step"/> of a [batch, steps, features] sequence as [batch, features] (the DSL's Step(x, t)).</summary>
    public static void SelectStep(Span<float> output, ReadOnlySpan<float> sequence, int batch, int steps, int features, int step)
    {
        CheckSelect(output.Length, sequence.Length, batch, steps, features, step, nameof(output), nameof(sequence));
        for (int b = 0; b < batch; b++)
            sequence.Slice((b * steps + step) * features, features).CopyTo(output.Slice(b * features, features));
    }

    /// <summary>Scatters dOutput [batch, features] into step <paramref name="step"/> of dSequence (other steps: zero unless accumulate).</summary>
    public static void SelectStepBackward(Span<float> dSequence, ReadOnlySpan<float> dOutput, int batch, int steps, int features, int step, bool accumulate)
        => SelectStepBackward(Simd.Best, dSequence, dOutput, batch, steps, features, step, accumulate);

    internal static void SelectStepBackward(SimdPath path, Span<float> dSequence, ReadOnlySpan<float> dOutput,
        int batch, int steps, int features, int step, bool accumulate)
    {
        CheckSelect(dOutput.Length, dSequence.Length, batch, steps, features, step, nameof(dOutput), nameof(dSequence));
        if (!accumulate) dSequence.Slice(0, batch * steps * features).Clear();
        for (int b = 0; b < batch; b++)
            Elementwise.CopyOrAdd(path, dSequence.Slice((b * steps + step) * features, features),
                dOutput.Slice(b * features, features), accumulate);
    }

    // ================================================================ Pointwise step kernels

    /// <summary>Time index of processing step s.</summary>
    private static int TimeOf(in RecurrentGeometry g, int s) => g.Reverse ? g.Steps - 1 - s : s;

    /// <summary>Offsets of the forward workspace regions, whole batch: gates [batch, Steps, G] (batch-major by time t,
    /// activated in place), then time-major [Steps, batch, H] regions by processing step s: h, LSTM c and tanh(c),
    /// GRU W_hn h + b_hn; last the step temporary hh [batch, G].</summary>
    internal readonly struct WorkspaceLayout
    {
        public readonly int Gates, Hidden, Cell, TanhCell, Hn, RecurrentProduct;

        public WorkspaceLayout(in RecurrentGeometry g, int batch)
        {
            int rows = batch * g.Steps, slots = rows * g.HiddenSize;
            Gates = 0;
            Hidden = rows * g.GateSize;
            Cell = Hn = Hidden + slots;
            TanhCell = Cell + slots;
            RecurrentProduct = Hidden + g.StateRegions * slots;
        }
    }

    private struct StepForwardArgs
    {
        public float* Gates, Hh, HPrev, CPrev, H, C, TanhC, Hn, BiasHn, Out;
        public int OutStride, OutOffset, Steps, Time, Hidden, Batch;
        public RecurrentCell Cell;
    }

    /// <summary>Row pointers of one sample for one step.</summary>
    private struct ForwardRow
    {
        public float* Gates, Hh, HPrev, CPrev, H, C, TanhC, Hn, BiasHn, Out;
    }

    private static void StepForward<TVec, TOps>(in StepForwardArgs a)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int hidden = a.Hidden, gates = hidden * (a.Cell switch { RecurrentCell.Rnn => 1, RecurrentCell.Lstm => 4, _ => 3 });
        for (int b = 0; b < a.Batch; b++)
        {
            long row = (long)b * a.Steps + a.Time;
            var r = new ForwardRow
            {
                Gates = a.Gates + row * gates,
                Hh = a.Hh + (long)b * gates,
                HPrev = a.HPrev == null ? null : a.HPrev + (long)b * hidden,
                CPrev = a.CPrev == null ? null : a.CPrev + (long)b * hidden,
                H = a.H + (long)b * hidden,
                C = a.C == null ? null : a.C + (long)b * hidden,
                TanhC = a.TanhC == null ? null : a.TanhC + (long)b * hidden,
                Hn = a.Hn == null ? null : a.Hn + (long)b * hidden,
                BiasHn = a.BiasHn,
                Out = a.Out + row * a.OutStride + a.OutOffset,
            };
            switch (a.Cell)
            {
                case RecurrentCell.Rnn:
                    RnnForwardRow<float, ScalarOps>(in r, RnnForwardRow<TVec, TOps>(in r, 0, hidden), hidden);
                    break;
                case RecurrentCell.Lstm:
                    LstmForwardRow<float, ScalarOps>(in r, LstmForwardRow<TVec, TOps>(in r, 0, hidden), hidden);
                    break;
                default:
                    GruForwardRow<float, ScalarOps>(in r, GruForwardRow<TVec, TOps>(in r, 0, hidden), hidden);
                    break;
            }
        }
    }

    // Each row kernel processes j = start, start + Count, ... while a whole vector fits and returns where it stopped;
    // the caller finishes the tail with the ScalarOps instantiation of the same formulas.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RnnForwardRow<TVec, TOps>(in ForwardRow r, int j, int hidden)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        for (; j + TOps.Count <= hidden; j += TOps.Count)
        {
            TVec h = Activations.Tanh<TVec, TOps>(TOps.Add(TOps.Load(r.Gates + j), TOps.Load(r.Hh + j)));
            TOps.Store(h, r.Gates + j);
            TOps.Store(h, r.H + j);
            TOps.Store(h, r.Out + j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LstmForwardRow<TVec, TOps>(in ForwardRow r, int j, int hidden)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        float* gi = r.Gates, gf = r.Gates + hidden, gg = r.Gates + 2 * hidden, go = r.Gates + 3 * hidden;
        float* hi = r.Hh, hf = r.Hh + hidden, hg = r.Hh + 2 * hidden, ho = r.Hh + 3 * hidden;
        for (; j + TOps.Count <= hidden; j += TOps.Count)
        {
            TVec i = Activations.Sigmoid<TVec, TOps>(TOps.Add(TOps.Load(gi + j), TOps.Load(hi + j)));
            TVec f = Activations.Sigmoid<TVec, TOps>(TOps.Add(TOps.Load(gf + j), TOps.Load(hf + j)));
            TVec g = Activations.Tanh<TVec, TOps>(TOps.Add(TOps.Load(gg + j), TOps.Load(hg + j)));
            TVec o = Activations.Sigmoid<TVec, TOps>(TOps.Add(TOps.Load(go + j), TOps.Load(ho + j)));
            TVec c = TOps.Multiply(i, g);
            if (r.CPrev != null) c = TOps.MultiplyAdd(f, TOps.Load(r.CPrev + j), c);
            TVec tc = Activations.Tanh<TVec, TOps>(c);
            TVec h = TOps.Multiply(o, tc);
            TOps.Store(i, gi + j); TOps.Store(f, gf + j); TOps.Store(g, gg + j); TOps.Store(o, go + j);
            TOps.Store(c, r.C + j);
            TOps.Store(tc, r.TanhC + j);
            TOps.Store(h, r.H + j);
            TOps.Store(h, r.Out + j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GruForwardRow<TVec, TOps>(in ForwardRow r, int j, int hidden)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        float* gr = r.Gates, gz = r.Gates + hidden, gn = r.Gates + 2 * hidden;
        float* hr = r.Hh, hz = r.Hh + hidden, hn = r.Hh + 2 * hidden;
        for (; j + TOps.Count <= hidden; j += TOps.Count)
        {
            TVec rr = Activations.Sigmoid<TVec, TOps>(TOps.Add(TOps.Load(gr + j), TOps.Load(hr + j)));
            TVec z = Activations.Sigmoid<TVec, TOps>(TOps.Add(TOps.Load(gz + j), TOps.Load(hz + j)));
            TVec hnv = TOps.Load(hn + j);
            if (r.BiasHn != null) hnv = TOps.Add(hnv, TOps.Load(r.BiasHn + j));
            TVec n = Activations.Tanh<TVec, TOps>(TOps.MultiplyAdd(rr, hnv, TOps.Load(gn + j)));
            TVec hp = r.HPrev != null ? TOps.Load(r.HPrev + j) : TOps.Zero;
            TVec h = TOps.MultiplyAdd(z, TOps.Subtract(hp, n), n);   // (1 - z) n + z h = n + z (h - n)
            TOps.Store(rr, gr + j); TOps.Store(z, gz + j); TOps.Store(n, gn + j);
            TOps.Store(hnv, r.Hn + j);
            TOps.Store(h, r.H + j);
            TOps.Store(h, r.Out + j);
        }
        return j;
    }

    private struct StepBackwardArgs
    {
        public float* Gates, TanhC, Hn, HPrev, CPrev, DOut, DaIh, DaHh, Dh, Dc;
        public int OutStride, OutOffset, Steps, Time, Hidden, Batch;
        public RecurrentCell Cell;
    }

    private struct BackwardRow
    {
        public float* Gates, TanhC, Hn, HPrev, CPrev, DOut, DaIh, DaHh, Dh, Dc;
    }

    private static void StepBackward<TVec, TOps>(in StepBackwardArgs a)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int hidden = a.Hidden, gates = hidden * (a.Cell switch { RecurrentCell.Rnn => 1, RecurrentCell.Lstm => 4, _ => 3 });
        for (int b = 0; b < a.Batch; b++)
        {
            long row = (long)b * a.Steps + a.Time;
            var r = new BackwardRow
            {
                Gates = a.Gates + row * gates,
                TanhC = a.TanhC == null ? null : a.TanhC + (long)b * hidden,
                Hn = a.Hn == null ? null : a.Hn + (long)b * hidden,
                HPrev = a.HPrev == null ? null : a.HPrev + (long)b * hidden,
                CPrev = a.CPrev == null ? null : a.CPrev + (long)b * hidden,
                DOut = a.DOut == null ? null : a.DOut + row * a.OutStride + a.OutOffset,
                DaIh = a.DaIh + row * gates,
                DaHh = a.DaHh + (long)b * gates,
                Dh = a.Dh + (long)b * hidden,
                Dc = a.Dc == null ? null : a.Dc + (long)b * hidden,
            };
            switch (a.Cell)
            {
                case RecurrentCell.Rnn:
                    RnnBackwardRow<float, ScalarOps>(in r, RnnBackwardRow<TVec, TOps>(in r, 0, hidden), hidden);
                    break;
                case RecurrentCell.Lstm:
                    LstmBackwardRow<float, ScalarOps>(in r, LstmBackwardRow<TVec, TOps>(in r, 0, hidden), hidden);
                    break;
                default:
                    GruBackwardRow<float, ScalarOps>(in r, GruBackwardRow<TVec, TOps>(in r, 0, hidden), hidden);
                    break;
            }
        }
    }

    /// <summary>dh of this step: the running gradient from later steps plus this step's output gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec LoadDh<TVec, TOps>(in BackwardRow r, int j)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec dh = TOps.Load(r.Dh + j);
        return r.DOut != null ? TOps.Add(dh, TOps.Load(r.DOut + j)) : dh;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RnnBackwardRow<TVec, TOps>(in BackwardRow r, int j, int hidden)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        for (; j + TOps.Count <= hidden; j += TOps.Count)
        {
            TVec h = TOps.Load(r.Gates + j);
            TVec da = TOps.Multiply(LoadDh<TVec, TOps>(in r, j), TOps.Subtract(one, TOps.Multiply(h, h)));
            TOps.Store(da, r.DaIh + j);
            TOps.Store(da, r.DaHh + j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LstmBackwardRow<TVec, TOps>(in BackwardRow r, int j, int hidden)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        int h1 = hidden, h2 = 2 * hidden, h3 = 3 * hidden;
        for (; j + TOps.Count <= hidden; j += TOps.Count)
        {
            TVec dh = LoadDh<TVec, TOps>(in r, j);
            TVec i = TOps.Load(r.Gates + j), f = TOps.Load(r.Gates + h1 + j);
            TVec g = TOps.Load(r.Gates + h2 + j), o = TOps.Load(r.Gates + h3 + j);
            TVec tc = TOps.Load(r.TanhC + j);
            TVec cp = r.CPrev != null ? TOps.Load(r.CPrev + j) : TOps.Zero;
            // dc_total = dc + dh o (1 - tanh(c)^2)
            TVec dct = TOps.MultiplyAdd(TOps.Multiply(dh, o), TOps.Subtract(one, TOps.Multiply(tc, tc)), TOps.Load(r.Dc + j));
            TVec dai = TOps.Multiply(TOps.Multiply(dct, g), TOps.Multiply(i, TOps.Subtract(one, i)));
            TVec daf = TOps.Multiply(TOps.Multiply(dct, cp), TOps.Multiply(f, TOps.Subtract(one, f)));
            TVec dag = TOps.Multiply(TOps.Multiply(dct, i), TOps.Subtract(one, TOps.Multiply(g, g)));
            TVec dao = TOps.Multiply(TOps.Multiply(dh, tc), TOps.Multiply(o, TOps.Subtract(one, o)));
            TOps.Store(TOps.Multiply(dct, f), r.Dc + j);
            TOps.Store(dai, r.DaIh + j); TOps.Store(daf, r.DaIh + h1 + j); TOps.Store(dag, r.DaIh + h2 + j); TOps.Store(dao, r.DaIh + h3 + j);
            TOps.Store(dai, r.DaHh + j); TOps.Store(daf, r.DaHh + h1 + j); TOps.Store(dag, r.DaHh + h2 + j); TOps.Store(dao, r.DaHh + h3 + j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GruBackwardRow<TVec, TOps>(in BackwardRow r, int j, int hidden)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        int h1 = hidden, h2 = 2 * hidden;
        for (; j + TOps.Count <= hidden; j += TOps.Count)
        {
            TVec dh = LoadDh<TVec, TOps>(in r, j);
            TVec rr = TOps.Load(r.Gates + j), z = TOps.Load(r.Gates + h1 + j), n = TOps.Load(r.Gates + h2 + j);
            TVec hn = TOps.Load(r.Hn + j);
            TVec hp = r.HPrev != null ? TOps.Load(r.HPrev + j) : TOps.Zero;
            TVec dan = TOps.Multiply(TOps.Multiply(dh, TOps.Subtract(one, z)), TOps.Subtract(one, TOps.Multiply(n, n)));
            TVec daz = TOps.Multiply(TOps.Multiply(dh, TOps.Subtract(hp, n)), TOps.Multiply(z, TOps.Subtract(one, z)));
            TVec dar = TOps.Multiply(TOps.Multiply(dan, hn), TOps.Multiply(rr, TOps.Subtract(one, rr)));
            TOps.Store(TOps.Multiply(dh, z), r.Dh + j);   // direct path h' = .. + z h; the W_hh path is added by the caller's Gemm
            TOps.Store(dar, r.DaIh + j); TOps.Store(daz, r.DaIh + h1 + j); TOps.Store(dan, r.DaIh + h2 + j);
            TOps.Store(dar, r.DaHh + j); TOps.Store(daz, r.DaHh + h1 + j); TOps.Store(TOps.Multiply(dan, rr), r.DaHh + h2 + j);
        }
        return j;
    }

    /// <summary>sums[c] += sum over rows of m[row, c].</summary>
    private static void SumRows(SimdPath path, Span<float> sums, ReadOnlySpan<float> m, int rows, int cols)
    {
        for (int r = 0; r < rows; r++) Elementwise.CopyOrAdd(path, sums, m.Slice(r * cols, cols), accumulate: true);
    }

    /// <summary>One-lane "vector" ops: the scalar path and the tails of the vector paths run the same formulas.</summary>
    private struct ScalarOps : IVectorOps<float>
    {
        private static readonly float AllOnes = BitConverter.Int32BitsToSingle(-1);
        public static int Count => 1;
        public static float Zero => 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float value) => value;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* source) => *source;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float value, float* destination) => *destination = value;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Subtract(float a, float b) => a - b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Multiply(float a, float b) => a * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Divide(float a, float b) => a / b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MultiplyAdd(float a, float b, float c) => a * b + c;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => MathF.Max(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Abs(float a) => MathF.Abs(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Exp(float a) => MathF.Exp(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float CopySign(float value, float sign) => MathF.CopySign(value, sign);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float GreaterThan(float a, float b) => a > b ? AllOnes : 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float LessThan(float a, float b) => a < b ? AllOnes : 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Select(float mask, float whenTrue, float whenFalse) => BitConverter.SingleToInt32Bits(mask) != 0 ? whenTrue : whenFalse;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float a) => a;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(float a) => a;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float GetElement(float a, int index) => a;
    }

    // ================================================================ Argument checks

    private static void CheckGeometry(in RecurrentGeometry g, int batch)
    {
        if (g.Cell is not (RecurrentCell.Rnn or RecurrentCell.Lstm or RecurrentCell.Gru))
            throw new ArgumentOutOfRangeException(nameof(g), g.Cell, $"Unknown recurrent cell {g.Cell}.");
        Guard.NonNegative(batch, nameof(batch));
        Guard.Positive(g.Steps, "Steps");
        Guard.NonNegative(g.InputSize, "InputSize");
        Guard.Positive(g.HiddenSize, "HiddenSize");
    }

    /// <summary>A [batch, Steps, stride] sequence holding this direction at columns [offset, offset + H).</summary>
    private static void CheckSequence(int length, int stride, int offset, int batch, in RecurrentGeometry g, string name)
    {
        Guard.NonNegative(offset, "outOffset");
        if (stride < offset + g.HiddenSize)
            throw new ArgumentOutOfRangeException("outStride", stride,
                $"outStride must be at least outOffset + HiddenSize = {offset + g.HiddenSize} but is {stride}.");
        Guard.AtLeast(length, (long)batch * g.Steps * stride, name);
    }

    /// <summary>Hidden state [batch, H] or empty; cell state the same for an LSTM, always empty otherwise.</summary>
    private static void CheckStates(int hiddenLength, int cellLength, int batch, in RecurrentGeometry g, string hiddenName, string cellName)
    {
        Guard.EmptyOrAtLeast(hiddenLength, (long)batch * g.HiddenSize, hiddenName);
        if (g.Cell == RecurrentCell.Lstm) Guard.EmptyOrAtLeast(cellLength, (long)batch * g.HiddenSize, cellName);
        else if (cellLength != 0)
            throw new ArgumentException($"Span '{cellName}' must be empty: only an LSTM has a cell state ({g.Cell}).", cellName);
    }

    private static void CheckLastStep(int stateLength, int sequenceLength, int batch, int steps, int hidden, int directions,
        string stateName, string sequenceName)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Positive(steps, nameof(steps));
        Guard.NonNegative(hidden, nameof(hidden));
        if (directions is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(directions), directions, $"directions must be 1 or 2 but is {directions}.");
        Guard.AtLeast(stateLength, (long)batch * hidden * directions, stateName);
        Guard.AtLeast(sequenceLength, (long)batch * steps * hidden * directions, sequenceName);
    }

    private static void CheckSelect(int stepLength, int sequenceLength, int batch, int steps, int features, int step,
        string stepName, string sequenceName)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Positive(steps, nameof(steps));
        Guard.NonNegative(features, nameof(features));
        if ((uint)step >= (uint)steps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be in [0, {steps}) but is {step}.");
        Guard.AtLeast(stepLength, (long)batch * features, stepName);
        Guard.AtLeast(sequenceLength, (long)batch * steps * features, sequenceName);
    }
}
