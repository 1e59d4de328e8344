using System;
using NetGen.Cpu;

namespace NetGen.Cuda;

/// <summary>
/// What the CUDA layers queue on a stream. <see cref="CudaContext"/> is the real one; the tests run the same layer code
/// against the generated CUDA C compiled for the CPU, with the CPU's GEMM standing in for cuBLAS.
/// </summary>
internal unsafe interface ICudaQueue
{
    /// <summary>A kernel of the network's module, looked up once (never during a capture).</summary>
    IntPtr Kernel(string name);

    /// <summary>Launches a one-dimensional grid-stride kernel over <paramref name="count"/> items.</summary>
    void Launch(IntPtr kernel, long count, void** arguments, string name);

    /// <summary>Sets <paramref name="count"/> floats to zero.</summary>
    void Zero(nint device, long count);

    /// <summary>Row-major c[m, n] (=|+=) op(a) op(b) (see <see cref="CudaContext.Gemm"/>).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, nint a, nint b, nint c, bool accumulate, string what);
}

/// <summary>
/// One layer, one direction of an RNN / LSTM / GRU on the GPU: <see cref="Recurrent"/>'s algorithm step for step, so the
/// CPU is its oracle. The input products of all steps are one cuBLAS GEMM; each step is one [batch, H] x [H, G] GEMM for
/// the recurrent product and one generated kernel for the cell's pointwise math; backpropagation through time mirrors it,
/// and the parameter gradients are again one GEMM each over all steps. The workspace and scratch have the CPU's layouts
/// (<see cref="RecurrentGeometry.WorkspaceSize"/>, <see cref="RecurrentGeometry.ScratchSize"/> floats per sample) and
/// belong to the caller. Device addresses are <c>nint</c>; 0 stands for an absent operand (no initial state, no bias,
/// no gradient wanted).
/// </summary>
public sealed unsafe class CudaRecurrent
{
    private readonly ICudaQueue _queue;
    private readonly RecurrentGeometry _g;
    private readonly IntPtr _bias, _stepForward, _stepBackward, _copy, _biasBackward;
    private readonly string _forwardName, _backwardName;

    /// <summary>The cell's step kernels are &lt;this&gt;_forward and &lt;this&gt;_backward (the generator lists them in the network's source).</summary>
    private static string StepKernel(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Rnn => "netgen_rnn_step",
        RecurrentCell.Lstm => "netgen_lstm_step",
        _ => "netgen_gru_step",
    };

    public CudaRecurrent(CudaContext context, RecurrentGeometry geometry) : this((ICudaQueue)context, geometry) { }

    internal CudaRecurrent(ICudaQueue queue, RecurrentGeometry geometry)
    {
        if (geometry.Steps <= 0 || geometry.HiddenSize <= 0 || geometry.InputSize < 0)
            throw new ArgumentOutOfRangeException(nameof(geometry), geometry, "A recurrent layer needs Steps > 0, HiddenSize > 0 and InputSize >= 0.");
        _queue = queue;
        _g = geometry;
        _forwardName = StepKernel(geometry.Cell) + "_forward";
        _backwardName = StepKernel(geometry.Cell) + "_backward";
        _bias = queue.Kernel("netgen_recurrent_bias");
        _stepForward = queue.Kernel(_forwardName);
        _stepBackward = queue.Kernel(_backwardName);
        _copy = queue.Kernel("netgen_copy_or_add");
        _biasBackward = queue.Kernel("netgen_bias_backward");
    }

    public RecurrentGeometry Geometry => _g;

    /// <summary>
    /// Queues <see cref="Recurrent.Forward(Span{float}, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, in RecurrentGeometry, Span{float})"/>
    /// on the device, with the same operands and layouts.
    /// </summary>
    public void Forward(int batch, nint output, int outStride, int outOffset, nint input, nint initialHidden, nint initialCell,
        nint weightIh, nint weightHh, nint biasIh, nint biasHh, nint workspace)
    {
        if (batch <= 0) return;
        int steps = _g.Steps, hidden = _g.HiddenSize, gateSize = _g.GateSize, rows = batch * steps;
        var w = new Recurrent.WorkspaceLayout(_g, batch);
        nint gates = At(workspace, w.Gates), hh = At(workspace, w.RecurrentProduct);
        long slot = (long)batch * hidden;
        void** args = stackalloc void*[13];

        // 1. Every step's input product at once, then the biases in the CPU's order: gates = (x W_ih^T + b_ih) + b_hh
        //    (a GRU's b_hn stays out: it sits inside r * (W_hn h + b_hn)).
        _queue.Gemm(false, true, rows, gateSize, _g.InputSize, input, weightIh, gates, accumulate: false, $"cublasSgemm({_g.Cell} input products {rows}x{_g.InputSize}->{gateSize})");
        if (biasIh != 0 || biasHh != 0)
        {
            int folded = _g.Cell == RecurrentCell.Gru ? 2 * hidden : gateSize;
            args[0] = &gates; args[1] = &biasIh; args[2] = &biasHh; args[3] = &rows; args[4] = &gateSize; args[5] = &folded;
            _queue.Launch(_bias, (long)rows * gateSize, args, "netgen_recurrent_bias");
        }

        // 2. The recurrence, step by step: hh = h_prev W_hh^T, then the cell's pointwise kernel.
        var tail = new StepTail { OutStride = outStride, OutOffset = outOffset, Steps = steps, Hidden = hidden, Batch = batch };
        for (int s = 0; s < steps; s++)
        {
            nint hPrev = s == 0 ? initialHidden : At(workspace, w.Hidden + (s - 1) * slot);
            if (hPrev != 0) _queue.Gemm(false, true, batch, gateSize, hidden, hPrev, weightHh, hh, accumulate: false, $"cublasSgemm({_g.Cell} recurrent product step {s})");
            else _queue.Zero(hh, (long)batch * gateSize);
            nint h = At(workspace, w.Hidden + s * slot);
            tail.Time = _g.Reverse ? steps - 1 - s : s;
            // the locals below live until the launch, which copies the arguments
            nint cPrev = 0, c = 0, tanhC = 0, biasHn = 0, hn = 0;
            switch (_g.Cell)
            {
                case RecurrentCell.Rnn: // (gates, hh, h, out, ...)
                    args[0] = &gates; args[1] = &hh; args[2] = &h; args[3] = &output;
                    tail.Point(args + 4);
                    break;
                case RecurrentCell.Lstm: // (gates, hh, cPrev, h, c, tanhC, out, ...)
                    cPrev = s == 0 ? initialCell : At(workspace, w.Cell + (s - 1) * slot);
                    c = At(workspace, w.Cell + s * slot);
                    tanhC = At(workspace, w.TanhCell + s * slot);
                    args[0] = &gates; args[1] = &hh; args[2] = &cPrev; args[3] = &h; args[4] = &c; args[5] = &tanhC; args[6] = &output;
                    tail.Point(args + 7);
                    break;
                default: // GRU (gates, hh, hPrev, biasHn, h, hn, out, ...)
                    biasHn = biasHh == 0 ? 0 : At(biasHh, 2 * hidden);
                    hn = At(workspace, w.Hn + s * slot);
                    args[0] = &gates; args[1] = &hh; args[2] = &hPrev; args[3] = &biasHn; args[4] = &h; args[5] = &hn; args[6] = &output;
                    tail.Point(args + 7);
                    break;
            }
            _queue.Launch(_stepForward, slot, args, _forwardName);
        }
    }

    /// <summary>
    /// Queues <see cref="Recurrent.Backward(Span{float}, bool, Span{float}, Span{float}, Span{float}, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, in RecurrentGeometry, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float})"/>
    /// on the device (no final-state gradients: the generated code never has them). dInput 0 skips the input gradient;
    /// the four parameter gradients accumulate (+=), each skipped when 0 (all four are 0 for a frozen network).
    /// Unlike the CPU call, the initial states' gradients go straight to their operands' gradients, written or, with
    /// <paramref name="accumulateHidden"/> / <paramref name="accumulateCell"/>, added to (no staging buffer, no extra copy).
    /// </summary>
    public void Backward(int batch, nint dInput, bool accumulate, nint dInitialHidden, nint dInitialCell,
        nint dWeightIh, nint dWeightHh, nint dBiasIh, nint dBiasHh, nint dOutput, int outStride, int outOffset,
        nint input, nint initialHidden, nint initialCell, nint weightIh, nint weightHh, nint workspace, nint scratch,
        bool accumulateHidden = false, bool accumulateCell = false)
    {
        if (batch <= 0) return;
        int steps = _g.Steps, hidden = _g.HiddenSize, gateSize = _g.GateSize, rows = batch * steps;
        bool lstm = _g.Cell == RecurrentCell.Lstm, gru = _g.Cell == RecurrentCell.Gru;
        var w = new Recurrent.WorkspaceLayout(_g, batch);
        long slot = (long)batch * hidden, gatesFloats = (long)rows * gateSize;
        // scratch: daIh [batch, Steps, G] (by time), daHh [Steps, batch, G] (by processing step), dh [batch, H], dc [batch, H]
        nint gates = At(workspace, w.Gates), daIh = scratch, daHhAll = At(scratch, gatesFloats);
        nint dh = At(scratch, 2 * gatesFloats), dc = lstm ? At(scratch, 2 * gatesFloats + slot) : 0;
        _queue.Zero(dh, slot);
        if (lstm) _queue.Zero(dc, slot);

        void** args = stackalloc void*[14];
        var tail = new StepTail { OutStride = outStride, OutOffset = outOffset, Steps = steps, Hidden = hidden, Batch = batch };
        for (int s = steps - 1; s >= 0; s--)
        {
            nint daHh = At(daHhAll, (long)s * batch * gateSize);
            tail.Time = _g.Reverse ? steps - 1 - s : s;
            nint tanhC = 0, cPrev = 0, hn = 0, hPrev = 0;
            switch (_g.Cell)
            {
                case RecurrentCell.Rnn: // (gates, dOut, daIh, daHh, dh, ...)
                    args[0] = &gates; args[1] = &dOutput; args[2] = &daIh; args[3] = &daHh; args[4] = &dh;
                    tail.Point(args + 5);
                    break;
                case RecurrentCell.Lstm: // (gates, tanhC, cPrev, dOut, daIh, daHh, dh, dc, ...)
                    tanhC = At(workspace, w.TanhCell + s * slot);
                    cPrev = s == 0 ? initialCell : At(workspace, w.Cell + (s - 1) * slot);
                    args[0] = &gates; args[1] = &tanhC; args[2] = &cPrev; args[3] = &dOutput; args[4] = &daIh; args[5] = &daHh; args[6] = &dh; args[7] = &dc;
                    tail.Point(args + 8);
                    break;
                default: // GRU (gates, hn, hPrev, dOut, daIh, daHh, dh, ...)
                    hn = At(workspace, w.Hn + s * slot);
                    hPrev = s == 0 ? initialHidden : At(workspace, w.Hidden + (s - 1) * slot);
                    args[0] = &gates; args[1] = &hn; args[2] = &hPrev; args[3] = &dOutput; args[4] = &daIh; args[5] = &daHh; args[6] = &dh;
                    tail.Point(args + 7);
                    break;
            }
            _queue.Launch(_stepBackward, slot, args, _backwardName);
            // dh_prev (=|+=) da_hh W_hh: a GRU's kernel left z * dh in dh, the other cells keep nothing.
            if (s > 0 || dInitialHidden != 0)
                _queue.Gemm(false, false, batch, hidden, gateSize, daHh, weightHh, dh, accumulate: gru, $"cublasSgemm({_g.Cell} hidden gradient step {s})");
        }
        if (dInitialHidden != 0) CopyOrAdd(dInitialHidden, dh, slot, accumulateHidden);
        if (dInitialCell != 0 && lstm) CopyOrAdd(dInitialCell, dc, slot, accumulateCell);

        // Parameter gradients, one product each over all steps: dW_ih += daIh^T x; dW_hh += daHh[s]^T h_{s-1}.
        if (dWeightIh != 0)
            _queue.Gemm(true, false, gateSize, _g.InputSize, rows, daIh, input, dWeightIh, accumulate: true, $"cublasSgemm({_g.Cell} input weight gradient)");
        if (dWeightHh != 0 && steps > 1)
            _queue.Gemm(true, false, gateSize, hidden, (steps - 1) * batch, At(daHhAll, (long)batch * gateSize), At(workspace, w.Hidden), dWeightHh,
                accumulate: true, $"cublasSgemm({_g.Cell} recurrent weight gradient)");
        if (dWeightHh != 0 && initialHidden != 0)
            _queue.Gemm(true, false, gateSize, hidden, batch, daHhAll, initialHidden, dWeightHh, accumulate: true, $"cublasSgemm({_g.Cell} recurrent weight gradient, initial state)");
        if (dBiasIh != 0) SumRows(dBiasIh, daIh, rows, gateSize);
        if (dBiasHh != 0) SumRows(dBiasHh, daHhAll, rows, gateSize);

        // dx (=|+=) daIh W_ih
        if (dInput != 0)
            _queue.Gemm(false, false, rows, _g.InputSize, gateSize, daIh, weightIh, dInput, accumulate, $"cublasSgemm({_g.Cell} input gradient)");
    }

    /// <summary>The step kernels' trailing int arguments, in their order; lives on the caller's stack.</summary>
    private struct StepTail
    {
        public int OutStride, OutOffset, Steps, Time, Hidden, Batch;

        public void Point(void** args)
        {
            fixed (StepTail* t = &this)
            {
                args[0] = &t->OutStride; args[1] = &t->OutOffset; args[2] = &t->Steps; args[3] = &t->Time; args[4] = &t->Hidden; args[5] = &t->Batch;
            }
        }
    }

    private void CopyOrAdd(nint destination, nint source, long count, bool add)
    {
        int n = checked((int)count), accumulate = add ? 1 : 0;
        void** args = stackalloc void*[4];
        args[0] = &destination; args[1] = &source; args[2] = &n; args[3] = &accumulate;
        _queue.Launch(_copy, count, args, "netgen_copy_or_add");
    }

    /// <summary>sums[cols] += the column sums of m[rows, cols] (the Dense bias-gradient kernel).</summary>
    private void SumRows(nint sums, nint m, int rows, int cols)
    {
        void** args = stackalloc void*[4];
        args[0] = &sums; args[1] = &m; args[2] = &rows; args[3] = &cols;
        _queue.Launch(_biasBackward, cols, args, "netgen_bias_backward");
    }

    private static nint At(nint buffer, long floats) => buffer + (nint)(floats * 4);
}
