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
        work.Run();
        work.Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) work.Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
