using NetGen.Tests.Shared;
using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class RecurrentTests
{
    /// <summary>This direction's columns in the test sequences: [Offset, Offset + H) of rows H + Pad wide (the rest must be left alone).</summary>
    private const int Offset = 2, Pad = 3;
    private const float Sentinel = 7f;

    private static readonly RecurrentCell[] Cells = { RecurrentCell.Rnn, RecurrentCell.Lstm, RecurrentCell.Gru };

    /// <summary>One layer's data: float inputs for the kernels, the same values in double for the reference.</summary>
    private sealed class Problem
    {
        public RecurrentGeometry G;
        public int Batch;
        public int Stride => G.HiddenSize + Pad;
        public float[] X = Array.Empty<float>(), H0 = Array.Empty<float>(), C0 = Array.Empty<float>();
        public float[] Wih = Array.Empty<float>(), Whh = Array.Empty<float>(), Bih = Array.Empty<float>(), Bhh = Array.Empty<float>();
        /// <summary>Loss weights: L = sum dOut . y (own columns; the others hold junk the kernel must not read) + dHN . h_n + dCN . c_n.</summary>
        public float[] DOut = Array.Empty<float>(), DHN = Array.Empty<float>(), DCN = Array.Empty<float>();

        public static Problem Create(RecurrentCell cell, int batch, int steps, int inSize, int hidden, bool reverse,
            bool initial, bool bias, bool finalGrad, bool sequenceGrad, ulong seed)
        {
            var rng = new Rng(seed);
            var g = new RecurrentGeometry(cell, steps, inSize, hidden, reverse);
            var p = new Problem { G = g, Batch = batch };
            int gates = g.GateSize, state = batch * hidden;
            p.X = KernelAssert.Random(ref rng, batch * steps * inSize);
            p.Wih = KernelAssert.Random(ref rng, gates * inSize, -0.7f, 0.7f);
            p.Whh = KernelAssert.Random(ref rng, gates * hidden, -0.7f, 0.7f);
            if (bias) { p.Bih = KernelAssert.Random(ref rng, gates); p.Bhh = KernelAssert.Random(ref rng, gates); }
            if (initial)
            {
                p.H0 = KernelAssert.Random(ref rng, state);
                if (cell == RecurrentCell.Lstm) p.C0 = KernelAssert.Random(ref rng, state, -2f, 2f);
            }
            if (sequenceGrad) p.DOut = KernelAssert.Random(ref rng, batch * steps * p.Stride);
            if (finalGrad)
            {
                p.DHN = KernelAssert.Random(ref rng, state);
                if (cell == RecurrentCell.Lstm) p.DCN = KernelAssert.Random(ref rng, state);
            }
            return p;
        }
    }

    // ================================================================ Double-precision reference, straight from PyTorch's equations

    private static double Sigmoid(double v) => 1.0 / (1.0 + Math.Exp(-v));

    /// <summary>y [batch, steps, H] (by time t), h_n and c_n [batch, H].</summary>
    private static (double[] Y, double[] HN, double[] CN) Reference(in RecurrentGeometry g, int batch,
        double[] x, double[] h0, double[] c0, double[] wih, double[] whh, double[] bih, double[] bhh)
    {
        int steps = g.Steps, inSize = g.InputSize, hidden = g.HiddenSize;
        var y = new double[batch * steps * hidden];
        var hN = new double[batch * hidden];
        var cN = new double[batch * hidden];
        var h = new double[hidden];
        var c = new double[hidden];
        var hNew = new double[hidden];
        for (int b = 0; b < batch; b++)
        {
            for (int j = 0; j < hidden; j++)
            {
                h[j] = h0.Length != 0 ? h0[b * hidden + j] : 0.0;
                c[j] = c0.Length != 0 ? c0[b * hidden + j] : 0.0;
            }
            for (int s = 0; s < steps; s++)
            {
                int t = g.Reverse ? steps - 1 - s : s;
                int xRow = (b * steps + t) * inSize;
                // W_i. x + b_i. and W_h. h + b_h. for gate k (rows k*H .. k*H + H - 1), unit j
                double Ih(int k, int j)
                {
                    int row = k * hidden + j;
                    double sum = bih.Length != 0 ? bih[row] : 0.0;
                    for (int i = 0; i < inSize; i++) sum += wih[row * inSize + i] * x[xRow + i];
                    return sum;
                }
                double Hh(int k, int j)
                {
                    int row = k * hidden + j;
                    double sum = bhh.Length != 0 ? bhh[row] : 0.0;
                    for (int m = 0; m < hidden; m++) sum += whh[row * hidden + m] * h[m];
                    return sum;
                }
                for (int j = 0; j < hidden; j++)
                {
                    switch (g.Cell)
                    {
                        case RecurrentCell.Rnn:
                            hNew[j] = Math.Tanh(Ih(0, j) + Hh(0, j));
                            break;
                        case RecurrentCell.Lstm:
                        {
                            double i = Sigmoid(Ih(0, j) + Hh(0, j));
                            double f = Sigmoid(Ih(1, j) + Hh(1, j));
                            double gg = Math.Tanh(Ih(2, j) + Hh(2, j));
                            double o = Sigmoid(Ih(3, j) + Hh(3, j));
                            c[j] = f * c[j] + i * gg;          // c is only read for unit j itself, so in place is fine
                            hNew[j] = o * Math.Tanh(c[j]);
                            break;
                        }
                        default:
                        {
                            double r = Sigmoid(Ih(0, j) + Hh(0, j));
                            double z = Sigmoid(Ih(1, j) + Hh(1, j));
                            double n = Math.Tanh(Ih(2, j) + r * Hh(2, j));
                            hNew[j] = (1 - z) * n + z * h[j];
                            break;
                        }
                    }
                }
                Array.Copy(hNew, h, hidden);
                Array.Copy(h, 0, y, (b * steps + t) * hidden, hidden);
            }
            Array.Copy(h, 0, hN, b * hidden, hidden);
            Array.Copy(c, 0, cN, b * hidden, hidden);
        }
        return (y, hN, cN);
    }

    private static double[] D(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static double Loss(Problem p, double[][] parts)
    {
        var (y, hN, cN) = Reference(p.G, p.Batch, parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]);
        int steps = p.G.Steps, hidden = p.G.HiddenSize;
        double loss = 0;
        if (p.DOut.Length != 0)
            for (int r = 0; r < p.Batch * steps; r++)
                for (int j = 0; j < hidden; j++) loss += p.DOut[r * p.Stride + Offset + j] * y[r * hidden + j];
        for (int i = 0; i < p.DHN.Length; i++) loss += p.DHN[i] * hN[i];
        for (int i = 0; i < p.DCN.Length; i++) loss += p.DCN[i] * cN[i];
        return loss;
    }

    /// <summary>Central differences of the double reference: gradients of x, h0, c0, W_ih, W_hh, b_ih, b_hh (in that order).</summary>
    private static double[][] FiniteDifferences(Problem p)
    {
        double[][] parts = { D(p.X), D(p.H0), D(p.C0), D(p.Wih), D(p.Whh), D(p.Bih), D(p.Bhh) };
        var grads = new double[parts.Length][];
        const double eps = 1e-6;
        for (int k = 0; k < parts.Length; k++)
        {
            double[] v = parts[k];
            grads[k] = new double[v.Length];
            for (int i = 0; i < v.Length; i++)
            {
                double keep = v[i];
                v[i] = keep + eps; double plus = Loss(p, parts);
                v[i] = keep - eps; double minus = Loss(p, parts);
                v[i] = keep;
                grads[k][i] = (plus - minus) / (2 * eps);
            }
        }
        return grads;
    }

    // ================================================================ Kernel runs

    private static float[] RunForward(SimdPath path, Problem p, out float[] workspace)
    {
        var y = new float[p.Batch * p.G.Steps * p.Stride];
        Array.Fill(y, Sentinel);
        workspace = new float[p.Batch * p.G.WorkspaceSize];
        Array.Fill(workspace, float.NaN);
        Recurrent.Forward(path, y, p.Stride, Offset, p.X, p.H0, p.C0, p.Wih, p.Whh, p.Bih, p.Bhh, p.Batch, p.G, workspace);
        return y;
    }

    private static void CheckForward(Problem p, float[] y, float[] workspace, string what)
    {
        var (expectedY, expectedHN, expectedCN) = Reference(p.G, p.Batch, D(p.X), D(p.H0), D(p.C0), D(p.Wih), D(p.Whh), D(p.Bih), D(p.Bhh));
        int hidden = p.G.HiddenSize, rows = p.Batch * p.G.Steps;
        var own = new float[rows * hidden];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < p.Stride; c++)
            {
                float v = y[r * p.Stride + c];
                if (c >= Offset && c < Offset + hidden) own[r * hidden + c - Offset] = v;
                else if (v != Sentinel) Assert.Fail($"{what}: column {c} of row {r} outside this direction was written ({v}).");
            }
        KernelAssert.Close(expectedY, own, 1e-5, 0, $"{what} output");

        var last = new float[p.Batch * hidden];
        Recurrent.LastStep(last, own, p.Batch, p.G.Steps, hidden, 1);
        if (!p.G.Reverse) KernelAssert.Close(expectedHN, last, 1e-5, 0, $"{what} last step");
        if (p.G.Cell == RecurrentCell.Lstm)
        {
            var cN = new float[p.Batch * hidden];
            Recurrent.FinalCell(cN, workspace, p.Batch, p.G);
            KernelAssert.Close(expectedCN, cN, 1e-5, 0, $"{what} final cell");
        }
    }

    private sealed class Gradients
    {
        public float[] DX = Array.Empty<float>(), DH0 = Array.Empty<float>(), DC0 = Array.Empty<float>();
        public float[] DWih = Array.Empty<float>(), DWhh = Array.Empty<float>(), DBih = Array.Empty<float>(), DBhh = Array.Empty<float>();
    }

    /// <summary>Backward with prefilled gradients: dInput random (accumulate) or NaN, dInitial* NaN (overwritten), parameters random (+=).</summary>
    private static (Gradients Before, Gradients After) RunBackward(SimdPath path, Problem p, float[] workspace, bool accumulate, ref Rng rng)
    {
        int state = p.Batch * p.G.HiddenSize, gates = p.G.GateSize;
        var before = new Gradients
        {
            DX = accumulate ? KernelAssert.Random(ref rng, p.X.Length) : Filled(p.X.Length, float.NaN),
            DH0 = p.H0.Length != 0 ? Filled(state, float.NaN) : Array.Empty<float>(),
            DC0 = p.C0.Length != 0 ? Filled(state, float.NaN) : Array.Empty<float>(),
            DWih = KernelAssert.Random(ref rng, p.Wih.Length),
            DWhh = KernelAssert.Random(ref rng, p.Whh.Length),
            DBih = p.Bih.Length != 0 ? KernelAssert.Random(ref rng, gates) : Array.Empty<float>(),
            DBhh = p.Bhh.Length != 0 ? KernelAssert.Random(ref rng, gates) : Array.Empty<float>(),
        };
        var after = new Gradients
        {
            DX = (float[])before.DX.Clone(), DH0 = (float[])before.DH0.Clone(), DC0 = (float[])before.DC0.Clone(),
            DWih = (float[])before.DWih.Clone(), DWhh = (float[])before.DWhh.Clone(),
            DBih = (float[])before.DBih.Clone(), DBhh = (float[])before.DBhh.Clone(),
        };
        float[] scratch = Filled(p.Batch * p.G.ScratchSize, float.NaN);
        Recurrent.Backward(path, after.DX, accumulate, after.DH0, after.DC0, after.DWih, after.DWhh, after.DBih, after.DBhh,
            p.DOut, p.Stride, Offset, p.DHN, p.X, p.H0, p.C0, p.Wih, p.Whh, Array.Empty<float>(), p.Batch, p.G, workspace, scratch, p.DCN);
        return (before, after);
    }

    private static float[] Filled(int count, float value)
    {
        var a = new float[count];
        Array.Fill(a, value);
        return a;
    }

    /// <summary>Compares after with before + expected (or expected alone when the kernel overwrites).</summary>
    private static void CheckGradient(double[] expected, float[] before, float[] after, bool overwrite, string what, double atol = 3e-5, double rtol = 2e-4)
    {
        Assert.Equal(expected.Length, after.Length);
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = overwrite ? expected[i] : before[i] + expected[i];
        KernelAssert.Close(e, after, atol, rtol, what);
    }

    private static void CheckBackward(Problem p, double[][] fd, Gradients before, Gradients after, bool accumulate, string what)
    {
        CheckGradient(fd[0], before.DX, after.DX, !accumulate, $"{what} dInput");
        if (p.H0.Length != 0) CheckGradient(fd[1], before.DH0, after.DH0, true, $"{what} dInitialHidden");
        if (p.C0.Length != 0) CheckGradient(fd[2], before.DC0, after.DC0, true, $"{what} dInitialCell");
        CheckGradient(fd[3], before.DWih, after.DWih, false, $"{what} dWeightIh");
        CheckGradient(fd[4], before.DWhh, after.DWhh, false, $"{what} dWeightHh");
        if (p.Bih.Length != 0) CheckGradient(fd[5], before.DBih, after.DBih, false, $"{what} dBiasIh");
        if (p.Bhh.Length != 0) CheckGradient(fd[6], before.DBhh, after.DBhh, false, $"{what} dBiasHh");
    }

    // ================================================================ Geometry

    [Fact]
    public void GeometryMatchesPyTorchLayout()
    {
        var rnn = new RecurrentGeometry(RecurrentCell.Rnn, 5, 3, 4, false);
        var lstm = new RecurrentGeometry(RecurrentCell.Lstm, 5, 3, 4, false);
        var gru = new RecurrentGeometry(RecurrentCell.Gru, 5, 3, 4, true);
        Assert.Equal((1, 4), (rnn.Gates, rnn.GateSize));
        Assert.Equal((4, 16), (lstm.Gates, lstm.GateSize));
        Assert.Equal((3, 12), (gru.Gates, gru.GateSize));
        Assert.Equal(5 * (4 + 4) + 4, rnn.WorkspaceSize);
        Assert.Equal(5 * (16 + 12) + 16, lstm.WorkspaceSize);
        Assert.Equal(5 * (12 + 8) + 12, gru.WorkspaceSize);
        Assert.Equal(2 * 5 * 4 + 4, rnn.ScratchSize);
        Assert.Equal(2 * 5 * 16 + 8, lstm.ScratchSize);
        Assert.Equal(2 * 5 * 12 + 4, gru.ScratchSize);
    }

    // ================================================================ Forward

    public static IEnumerable<object[]> Configurations()
    {
        foreach (RecurrentCell cell in Cells)
            foreach (bool reverse in new[] { false, true })
                foreach (bool initial in new[] { false, true })
                    foreach (bool bias in new[] { false, true })
                        yield return new object[] { cell, reverse, initial, bias };
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void ForwardMatchesReference(RecurrentCell cell, bool reverse, bool initial, bool bias)
    {
        // hidden 9: vector bodies and tails of 4 and 8 lanes, all tail for 16; batch 5 and hidden 17: the packed Gemm.
        foreach (var (batch, steps, inSize, hidden) in new[] { (2, 5, 3, 9), (5, 7, 20, 17), (1, 1, 1, 1) })
        {
            Problem p = Problem.Create(cell, batch, steps, inSize, hidden, reverse, initial, bias, false, false, 100);
            foreach (object[] path in KernelAssert.AllPaths())
            {
                float[] y = RunForward((SimdPath)path[0], p, out float[] workspace);
                CheckForward(p, y, workspace, $"{cell} {path[0]} batch={batch} steps={steps} in={inSize} hidden={hidden}");
            }
        }
    }

    [Fact]
    public void PublicForwardAndBidirectionalLayout()
    {
        // Both directions of one layer into a [batch, steps, 2H] buffer (forward at 0, reverse at H); LastStep gives
        // PyTorch's h_n order (forward's state after t = steps-1, then reverse's after t = 0).
        const int batch = 3, steps = 6, inSize = 4, hidden = 5;
        foreach (RecurrentCell cell in Cells)
        {
            Problem fwd = Problem.Create(cell, batch, steps, inSize, hidden, false, true, true, false, false, 200);
            Problem rev = Problem.Create(cell, batch, steps, inSize, hidden, true, true, true, false, false, 201);
            rev.X = fwd.X;
            var y = new float[batch * steps * 2 * hidden];
            var ws = new float[batch * fwd.G.WorkspaceSize];
            Recurrent.Forward(y, 2 * hidden, 0, fwd.X, fwd.H0, fwd.C0, fwd.Wih, fwd.Whh, fwd.Bih, fwd.Bhh, batch, fwd.G, ws);
            Recurrent.Forward(y, 2 * hidden, hidden, rev.X, rev.H0, rev.C0, rev.Wih, rev.Whh, rev.Bih, rev.Bhh, batch, rev.G, ws);
            var rf = Reference(fwd.G, batch, D(fwd.X), D(fwd.H0), D(fwd.C0), D(fwd.Wih), D(fwd.Whh), D(fwd.Bih), D(fwd.Bhh));
            var rr = Reference(rev.G, batch, D(rev.X), D(rev.H0), D(rev.C0), D(rev.Wih), D(rev.Whh), D(rev.Bih), D(rev.Bhh));
            var expected = new double[y.Length];
            var expectedLast = new double[batch * 2 * hidden];
            for (int r = 0; r < batch * steps; r++)
                for (int j = 0; j < hidden; j++)
                {
                    expected[r * 2 * hidden + j] = rf.Y[r * hidden + j];
                    expected[r * 2 * hidden + hidden + j] = rr.Y[r * hidden + j];
                }
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < hidden; j++)
                {
                    expectedLast[b * 2 * hidden + j] = rf.HN[b * hidden + j];
                    expectedLast[b * 2 * hidden + hidden + j] = rr.HN[b * hidden + j];
                }
            KernelAssert.Close(expected, y, 1e-5, 0, $"{cell} bidirectional output");
            var last = new float[batch * 2 * hidden];
            Recurrent.LastStep(last, y, batch, steps, hidden, 2);
            KernelAssert.Close(expectedLast, last, 1e-5, 0, $"{cell} bidirectional last step");
        }
    }

    // ================================================================ Backward

    public static IEnumerable<object[]> BackwardConfigurations()
    {
        foreach (object[] c in Configurations())
            foreach (bool finalGrad in new[] { false, true })
                yield return new object[] { c[0], c[1], c[2], c[3], finalGrad };
    }

    [Theory]
    [MemberData(nameof(BackwardConfigurations))]
    public void BackwardMatchesFiniteDifferences(RecurrentCell cell, bool reverse, bool initial, bool bias, bool finalGrad)
    {
        Problem p = Problem.Create(cell, 2, 5, 3, 9, reverse, initial, bias, finalGrad, sequenceGrad: true, seed: 300);
        double[][] fd = FiniteDifferences(p);
        var rng = new Rng(301);
        foreach (object[] path in KernelAssert.AllPaths())
            foreach (bool accumulate in new[] { false, true })
            {
                RunForward((SimdPath)path[0], p, out float[] workspace);
                var (before, after) = RunBackward((SimdPath)path[0], p, workspace, accumulate, ref rng);
                CheckBackward(p, fd, before, after, accumulate, $"{cell} {path[0]} accumulate={accumulate}");
            }
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn)]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    public void BackwardOfLastStateOnly(RecurrentCell cell)
    {
        // "Last state" outputs: no gradient on the sequence (dOutput empty), only dFinalHidden (and dFinalCell).
        foreach (bool reverse in new[] { false, true })
        {
            Problem p = Problem.Create(cell, 3, 6, 4, 5, reverse, true, true, finalGrad: true, sequenceGrad: false, seed: 400);
            double[][] fd = FiniteDifferences(p);
            var rng = new Rng(401);
            RunForward(Simd.Best, p, out float[] workspace);
            var (before, after) = RunBackward(Simd.Best, p, workspace, false, ref rng);
            CheckBackward(p, fd, before, after, false, $"{cell} reverse={reverse} last state only");
        }
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn)]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    public void BackwardLargerShapeThroughPublicEntry(RecurrentCell cell)
    {
        // batch 5 and 4H >= 4: every product takes the packed Gemm; the public entry points (Simd.Best).
        Problem p = Problem.Create(cell, 5, 6, 6, 17, cell == RecurrentCell.Gru, true, true, finalGrad: true, sequenceGrad: true, seed: 500);
        double[][] fd = FiniteDifferences(p);
        var y = new float[p.Batch * p.G.Steps * p.Stride];
        var ws = new float[p.Batch * p.G.WorkspaceSize];
        Recurrent.Forward(y, p.Stride, Offset, p.X, p.H0, p.C0, p.Wih, p.Whh, p.Bih, p.Bhh, p.Batch, p.G, ws);
        var rng = new Rng(501);
        var before = new Gradients
        {
            DX = KernelAssert.Random(ref rng, p.X.Length), DH0 = new float[p.H0.Length], DC0 = new float[p.C0.Length],
            DWih = new float[p.Wih.Length], DWhh = new float[p.Whh.Length], DBih = new float[p.Bih.Length], DBhh = new float[p.Bhh.Length],
        };
        var after = new Gradients
        {
            DX = (float[])before.DX.Clone(), DH0 = new float[p.H0.Length], DC0 = new float[p.C0.Length],
            DWih = new float[p.Wih.Length], DWhh = new float[p.Whh.Length], DBih = new float[p.Bih.Length], DBhh = new float[p.Bhh.Length],
        };
        var scratch = new float[p.Batch * p.G.ScratchSize];
        Recurrent.Backward(after.DX, true, after.DH0, after.DC0, after.DWih, after.DWhh, after.DBih, after.DBhh,
            p.DOut, p.Stride, Offset, p.DHN, p.X, p.H0, p.C0, p.Wih, p.Whh, y, p.Batch, p.G, ws, scratch, p.DCN);
        CheckBackward(p, fd, before, after, true, $"{cell} larger");
    }

    [Fact]
    public void WorkspaceAndScratchMayHoldStaleData()
    {
        // The generator reuses buffers: a second forward/backward over dirty workspace and scratch gives the same result.
        Problem p = Problem.Create(RecurrentCell.Lstm, 2, 5, 3, 6, true, false, true, true, true, 600);
        float[] y1 = RunForward(Simd.Best, p, out float[] ws);
        var rng = new Rng(601);
        var scratch = KernelAssert.Random(ref rng, p.Batch * p.G.ScratchSize);
        float[] dx1 = new float[p.X.Length], dw1 = new float[p.Wih.Length], dh1 = new float[p.Whh.Length];
        Recurrent.Backward(dx1, false, default, default, dw1, dh1, default, default, p.DOut, p.Stride, Offset, p.DHN,
            p.X, p.H0, p.C0, p.Wih, p.Whh, y1, p.Batch, p.G, ws, scratch, p.DCN);
        Array.Fill(ws, 123f);
        float[] y2 = (float[])y1.Clone();
        Recurrent.Forward(y2, p.Stride, Offset, p.X, p.H0, p.C0, p.Wih, p.Whh, p.Bih, p.Bhh, p.Batch, p.G, ws);
        float[] dx2 = new float[p.X.Length], dw2 = new float[p.Wih.Length], dh2 = new float[p.Whh.Length];
        Recurrent.Backward(dx2, false, default, default, dw2, dh2, default, default, p.DOut, p.Stride, Offset, p.DHN,
            p.X, p.H0, p.C0, p.Wih, p.Whh, y1, p.Batch, p.G, ws, scratch, p.DCN);
        Assert.Equal(y1, y2);
        Assert.Equal(dx1, dx2);
        Assert.Equal(dw1, dw2);
        Assert.Equal(dh1, dh2);
    }

    // ================================================================ LastStep / SelectStep

    [Theory]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public void LastStepAndBackward(int directions, bool accumulate)
    {
        foreach (int steps in new[] { 1, 4 })
        {
            const int batch = 3, hidden = 5;
            int width = hidden * directions;
            var rng = new Rng(700);
            float[] seq = KernelAssert.Random(ref rng, batch * steps * width);
            var last = new float[batch * width];
            Recurrent.LastStep(last, seq, batch, steps, hidden, directions);
            for (int b = 0; b < batch; b++)
                for (int c = 0; c < width; c++)
                {
                    int t = c < hidden ? steps - 1 : 0;
                    Assert.Equal(seq[(b * steps + t) * width + c], last[b * width + c]);
                }

            float[] dLast = KernelAssert.Random(ref rng, batch * width);
            float[] dSeq = accumulate ? KernelAssert.Random(ref rng, seq.Length) : Filled(seq.Length, float.NaN);
            float[] expected = accumulate ? (float[])dSeq.Clone() : new float[seq.Length];
            for (int b = 0; b < batch; b++)
                for (int c = 0; c < width; c++)
                {
                    int t = c < hidden ? steps - 1 : 0;
                    expected[(b * steps + t) * width + c] += dLast[b * width + c];
                }
            Recurrent.LastStepBackward(dSeq, dLast, batch, steps, hidden, directions, accumulate);
            Assert.Equal(expected, dSeq);
            foreach (object[] path in KernelAssert.AllPaths())
            {
                float[] d = accumulate ? (float[])expected.Clone() : Filled(seq.Length, float.NaN);
                float[] e = (float[])expected.Clone();
                if (accumulate)
                    for (int b = 0; b < batch; b++)
                        for (int c = 0; c < width; c++)
                            e[(b * steps + (c < hidden ? steps - 1 : 0)) * width + c] += dLast[b * width + c];
                Recurrent.LastStepBackward((SimdPath)path[0], d, dLast, batch, steps, hidden, directions, accumulate);
                Assert.Equal(e, d);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelectStepAndBackward(bool accumulate)
    {
        const int batch = 3, steps = 5, features = 7;
        var rng = new Rng(800);
        float[] seq = KernelAssert.Random(ref rng, batch * steps * features);
        foreach (int step in new[] { 0, 2, steps - 1 })
        {
            var y = new float[batch * features];
            Recurrent.SelectStep(y, seq, batch, steps, features, step);
            for (int b = 0; b < batch; b++)
                for (int f = 0; f < features; f++)
                    Assert.Equal(seq[(b * steps + step) * features + f], y[b * features + f]);

            float[] dy = KernelAssert.Random(ref rng, batch * features);
            foreach (object[] path in KernelAssert.AllPaths())
            {
                float[] dSeq = accumulate ? KernelAssert.Random(ref rng, seq.Length) : Filled(seq.Length, float.NaN);
                float[] expected = accumulate ? (float[])dSeq.Clone() : new float[seq.Length];
                for (int b = 0; b < batch; b++)
                    for (int f = 0; f < features; f++)
                        expected[(b * steps + step) * features + f] += dy[b * features + f];
                Recurrent.SelectStepBackward((SimdPath)path[0], dSeq, dy, batch, steps, features, step, accumulate);
                Assert.Equal(expected, dSeq);
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.SelectStep(new float[21], seq, batch, steps, features, steps));
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.SelectStep(new float[21], seq, batch, steps, features, -1));
    }

    // ================================================================ Argument checks and allocations

    [Fact]
    public void BadArgumentsThrow()
    {
        var g = new RecurrentGeometry(RecurrentCell.Gru, 4, 3, 2, false);
        int batch = 2, gates = g.GateSize;
        float[] y = new float[batch * 4 * 2], x = new float[batch * 4 * 3], wih = new float[gates * 3], whh = new float[gates * 2];
        float[] ws = new float[batch * g.WorkspaceSize];
        var ex = Assert.Throws<ArgumentException>(() => Recurrent.Forward(y, 2, 0, x, default, default, wih, whh, default, default, batch, g, new float[ws.Length - 1]));
        Assert.Contains("'workspace'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Recurrent.Forward(y, 2, 0, x, default, new float[4], wih, whh, default, default, batch, g, ws));
        Assert.Contains("'initialCell'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Recurrent.Forward(y, 2, 0, x, default, default, wih, whh, new float[gates - 1], default, batch, g, ws));
        Assert.Contains("'biasIh'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.Forward(y, 2, 1, x, default, default, wih, whh, default, default, batch, g, ws));
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.Forward(y, 2, 0, x, default, default, wih, whh, default, default, batch,
            g with { Steps = 0 }, ws));
        ex = Assert.Throws<ArgumentException>(() => Recurrent.Backward(new float[x.Length], false, default, default, new float[wih.Length],
            new float[whh.Length], default, default, y, 2, 0, default, x, default, default, wih, whh, y, batch, g, ws,
            new float[batch * g.ScratchSize - 1]));
        Assert.Contains("'scratch'", ex.Message);
        Assert.Throws<ArgumentException>(() => Recurrent.FinalCell(new float[4], ws, batch, g));
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.LastStep(new float[12], new float[48], 2, 4, 2, 3));
    }

    /// <summary>Forward, backward, FinalCell and the step helpers of every cell, both directions.</summary>
    private sealed class Workload
    {
        private const int Batch = 3, Steps = 5, In = 4, Hidden = 6;
        private readonly List<(RecurrentGeometry G, float[] Wih, float[] Whh, float[] B, float[] Ws, float[] Scratch, float[] DWih, float[] DWhh, float[] DB)> _layers = new();
        private readonly float[] _x, _y, _dy, _dx, _h0, _c0, _dh0, _dc0, _last, _dLast, _dSeq;

        public Workload()
        {
            var rng = new Rng(900);
            _x = KernelAssert.Random(ref rng, Batch * Steps * In);
            _y = new float[Batch * Steps * 2 * Hidden]; _dy = KernelAssert.Random(ref rng, _y.Length);
            _dx = new float[_x.Length];
            _h0 = KernelAssert.Random(ref rng, Batch * Hidden); _c0 = KernelAssert.Random(ref rng, Batch * Hidden);
            _dh0 = new float[Batch * Hidden]; _dc0 = new float[Batch * Hidden];
            _last = new float[Batch * 2 * Hidden]; _dLast = KernelAssert.Random(ref rng, _last.Length); _dSeq = new float[_y.Length];
            foreach (RecurrentCell cell in Cells)
                foreach (bool reverse in new[] { false, true })
                {
                    var g = new RecurrentGeometry(cell, Steps, In, Hidden, reverse);
                    _layers.Add((g, KernelAssert.Random(ref rng, g.GateSize * In), KernelAssert.Random(ref rng, g.GateSize * Hidden),
                        KernelAssert.Random(ref rng, g.GateSize), new float[Batch * g.WorkspaceSize], new float[Batch * g.ScratchSize],
                        new float[g.GateSize * In], new float[g.GateSize * Hidden], new float[g.GateSize]));
                }
        }

        public void Run()
        {
            foreach (var l in _layers)
            {
                bool lstm = l.G.Cell == RecurrentCell.Lstm;
                int offset = l.G.Reverse ? Hidden : 0;
                Recurrent.Forward(_y, 2 * Hidden, offset, _x, _h0, lstm ? _c0 : default, l.Wih, l.Whh, l.B, l.B, Batch, l.G, l.Ws);
                if (lstm) Recurrent.FinalCell(_dc0, l.Ws, Batch, l.G);
                Recurrent.Backward(_dx, true, _dh0, lstm ? _dc0 : default, l.DWih, l.DWhh, l.DB, l.DB, _dy, 2 * Hidden, offset,
                    _h0, _x, _h0, lstm ? _c0 : default, l.Wih, l.Whh, _y, Batch, l.G, l.Ws, l.Scratch, lstm ? _c0 : default);
            }
            Recurrent.LastStep(_last, _y, Batch, Steps, Hidden, 2);
            Recurrent.LastStepBackward(_dSeq, _dLast, Batch, Steps, Hidden, 2, accumulate: false);
            Recurrent.SelectStep(_last, _y, Batch, Steps, 2 * Hidden, 3);
            Recurrent.SelectStepBackward(_dSeq, _dLast, Batch, Steps, 2 * Hidden, 3, accumulate: true);
        }
    }

    [Fact]
    public void KernelsDoNotAllocate()
    {
        var work = new Workload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }
}
