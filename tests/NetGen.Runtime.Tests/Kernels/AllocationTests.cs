using NetGen.Tests.Shared;
using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class AllocationTests
{
    /// <summary>Every public kernel, on a small LeNet-like layer stack; run once to JIT, then measured.</summary>
    private sealed class Workload
    {
        private const int Batch = 3;
        private readonly Conv2dGeometry _conv = new(2, 9, 9, 4, 3, 1, 1);
        private readonly Pool2dGeometry _pool = new(4, 9, 9, 2, 2);
        private readonly float[] _x, _w, _b, _y, _dy, _dx, _dw, _db, _scratch, _p, _dp, _fc, _fw, _fb, _dfc, _dfw, _dfb, _t, _d;
        private readonly int[] _labels = { 1, 0, 2 };

        public Workload()
        {
            var rng = new Rng(90);
            _x = KernelAssert.Random(ref rng, Batch * _conv.InputSize);
            _w = KernelAssert.Random(ref rng, _conv.WeightSize);
            _b = KernelAssert.Random(ref rng, _conv.OutChannels);
            _y = new float[Batch * _conv.OutputSize]; _dy = KernelAssert.Random(ref rng, _y.Length);
            _dx = new float[_x.Length]; _dw = new float[_w.Length]; _db = new float[_b.Length];
            _scratch = new float[_conv.ColumnSize];
            _p = new float[Batch * _pool.OutputSize]; _dp = KernelAssert.Random(ref rng, _p.Length);
            _fw = KernelAssert.Random(ref rng, 3 * _pool.OutputSize); _fb = new float[3];
            _fc = new float[Batch * 3]; _dfc = new float[Batch * 3]; _dfw = new float[_fw.Length]; _dfb = new float[3];
            _t = new float[Batch * 3]; _t[1] = _t[3] = _t[8] = 1f; _d = new float[Batch * 3];
        }

        public void Run()
        {
            Conv2d.Forward(_y, _x, _w, _b, Batch, _conv, _scratch);
            Activations.TanhForward(_y, _y);
            Activations.SigmoidForward(_dx, _x);
            Activations.ReluForward(_dx, _x);
            Pool2d.MaxForward(_p, _y, Batch, _pool);
            Pool2d.AvgForward(_p, _y, Batch, _pool);
            Dense.Forward(_fc, _p, _fw, _fb, Batch, _pool.OutputSize, 3);
            Activations.SoftmaxForward(_d, _fc, Batch, 3);
            Losses.SoftmaxCrossEntropy(_fc, _labels, Batch, 3, _dfc);
            Losses.SoftmaxCrossEntropy(_fc, _t, Batch, 3, _dfc);
            Losses.MeanSquaredError(_fc, _t, Batch, 3, _d);
            Losses.ArgMax(_fc.AsSpan(0, 3));
            Activations.SoftmaxBackward(_d, _dfc, _fc, Batch, 3, accumulate: true);
            Dense.BackwardWeights(_dfw, _dfb, _dfc, _p, Batch, _pool.OutputSize, 3);
            Dense.BackwardData(_dp, _dfc, _fw, Batch, _pool.OutputSize, 3, accumulate: false);
            Pool2d.MaxBackward(_dy, _dp, _y, Batch, _pool, accumulate: false);
            Pool2d.AvgBackward(_dy, _dp, Batch, _pool, accumulate: true);
            Activations.TanhBackward(_dy, _dy, _y, accumulate: false);
            Activations.SigmoidBackward(_dy, _dy, _y, accumulate: true);
            Activations.ReluBackward(_dy, _dy, _y, accumulate: true);
            Conv2d.BackwardWeights(_dw, _db, _dy, _x, Batch, _conv, _scratch);
            Conv2d.BackwardData(_dx, _dy, _w, Batch, _conv, _scratch, accumulate: false);
            Gemm.Multiply(true, true, 4, 5, 6, _x, _w, _dx, accumulate: true);
            Elementwise.Add(_dx, _dx, _x);
            Elementwise.Multiply(_dx, _dx, _x);
            Elementwise.MultiplyBackward(_dx, _dx, _x, accumulate: true);
            Elementwise.CopyOrAdd(_dx, _x, accumulate: true);
            Elementwise.Axpy(_w, -0.01f, _dw);
            Elementwise.Scale(_dw, 0.5f);
            Elementwise.Fill(_dw, 0f);
        }
    }

    [Fact]
    public void KernelsDoNotAllocate()
    {
        var work = new Workload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }

    /// <summary>The normalization, regularization, padded/adaptive pooling and concat kernels.</summary>
    private sealed class NewKernelsWorkload
    {
        private const int Batch = 3, C = 4, Spatial = 25;
        private readonly Pool2dGeometry _pool = new(C, 5, 5, 3, 2, 1, true);
        private readonly float[] _x, _y, _dy, _dx, _gamma, _beta, _rm, _rv, _sm, _si, _dg, _db, _w, _fw, _fb, _mask, _p, _dp, _a, _da, _cat;
        private Rng _rng = new(91);

        public NewKernelsWorkload()
        {
            var rng = new Rng(92);
            int size = Batch * C * Spatial;
            _x = KernelAssert.Random(ref rng, size); _y = new float[size]; _dy = KernelAssert.Random(ref rng, size); _dx = new float[size];
            _gamma = KernelAssert.Random(ref rng, C, 0.5f, 1.5f); _beta = KernelAssert.Random(ref rng, C);
            _rm = new float[C]; _rv = new float[C]; Array.Fill(_rv, 1f); _sm = new float[C]; _si = new float[C]; _dg = new float[C]; _db = new float[C];
            _w = KernelAssert.Random(ref rng, C * 18); _fw = new float[_w.Length]; _fb = new float[C];
            _mask = new float[size];
            _p = new float[Batch * _pool.OutputSize]; _dp = KernelAssert.Random(ref rng, _p.Length);
            _a = new float[Batch * C * 4]; _da = KernelAssert.Random(ref rng, _a.Length);
            _cat = new float[Batch * 2 * C * Spatial];
        }

        public void Run()
        {
            BatchNorm.ForwardTraining(_y, _x, _gamma, _beta, _rm, _rv, _sm, _si, Batch, C, Spatial, 0.1f, 1e-5f);
            BatchNorm.ForwardInference(_y, _x, _gamma, _beta, _rm, _rv, Batch, C, Spatial, 1e-5f);
            BatchNorm.BackwardParameters(_dg, _db, _dy, _x, _sm, _si, Batch, C, Spatial);
            BatchNorm.BackwardData(_dx, _dy, _x, _gamma, _sm, _si, Batch, C, Spatial, accumulate: false);
            BatchNorm.FoldIntoConvolution(_fw, _fb, _w, ReadOnlySpan<float>.Empty, _gamma, _beta, _rm, _rv, C, 1e-5f);
            Dropout.Forward(_y, _mask, _x, 0.3f, ref _rng);
            Elementwise.MultiplyBackward(_dx, _dy, _mask, accumulate: true);
            LocalResponseNorm.Forward(_y, _x, Batch, C, Spatial, 3, 1e-4f, 0.75f, 1f);
            LocalResponseNorm.Backward(_dx, _dy, _x, Batch, C, Spatial, 3, 1e-4f, 0.75f, 1f, accumulate: true);
            Pool2d.MaxForward(_p, _x, Batch, _pool);
            Pool2d.MaxBackward(_dx, _dp, _x, Batch, _pool, accumulate: false);
            AdaptivePool2d.AvgForward(_a, _x, Batch, C, 5, 5, 2, 2);
            AdaptivePool2d.AvgBackward(_dx, _da, Batch, C, 5, 5, 2, 2, accumulate: true);
            AdaptivePool2d.AvgForward(_a.AsSpan(0, Batch * C), _x, Batch, C, 5, 5, 1, 1);
            AdaptivePool2d.AvgBackward(_dx, _da.AsSpan(0, Batch * C), Batch, C, 5, 5, 1, 1, accumulate: true);
            Concat.Forward(_cat, _x, Batch, C * Spatial, 2 * C * Spatial, C * Spatial);
            Concat.Backward(_dx, _cat, Batch, C * Spatial, 2 * C * Spatial, C * Spatial, accumulate: true);
            Activations.LeakyReluForward(_y, _x, 0.01f);
            Activations.LeakyReluBackward(_dx, _dy, _x, 0.01f, accumulate: true);
        }
    }

    [Fact]
    public void NewKernelsDoNotAllocate()
    {
        var work = new NewKernelsWorkload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }
}
