using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using NetGen.Cpu;

namespace NetGen.Benchmarks;

/// <summary>One SGEMM problem: C[m,n] = op(A)[m,k] * op(B)[k,n].</summary>
public sealed record GemmShape(string Name, int M, int N, int K, bool TransA = false, bool TransB = false)
{
    public double Flops => 2.0 * M * N * K;

    public override string ToString() => Name;
}

/// <summary>Shared setup: aligned native matrices so both libraries read the same memory.</summary>
public abstract unsafe class GemmBenchmarkBase
{
    private float* _a, _b, _c;

    protected abstract GemmShape Current { get; }

    [GlobalSetup]
    public void Setup()
    {
        var s = Current;
        _a = Allocate((long)s.M * s.K, 1);
        _b = Allocate((long)s.K * s.N, 2);
        _c = Allocate((long)s.M * s.N, 3);
        if (!OpenBlas.Available) Console.WriteLine("// " + OpenBlas.Describe());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_c);
    }

    private static float* Allocate(long count, ulong seed)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Rng(seed);
        for (long i = 0; i < count; i++) p[i] = rng.NextUniform(-1f, 1f);
        return p;
    }

    [Benchmark(Baseline = true, Description = "OpenBLAS")]
    public void OpenBlasSgemm()
    {
        var s = Current;
        OpenBlas.Multiply(s.TransA, s.TransB, s.M, s.N, s.K, _a, _b, _c, accumulate: false);
    }

    [Benchmark(Description = "NetGen")]
    public void NetGenSgemm()
    {
        var s = Current;
        Gemm.Multiply(s.TransA, s.TransB, s.M, s.N, s.K,
            new ReadOnlySpan<float>(_a, s.M * s.K), new ReadOnlySpan<float>(_b, s.K * s.N), new Span<float>(_c, s.M * s.N), accumulate: false);
    }
}

/// <summary>Square SGEMM, n = 128 ... 2048, NetGen against OpenBLAS in the same run.</summary>
[Config(typeof(GemmConfig))]
public class GemmSquareBenchmarks : GemmBenchmarkBase
{
    [Params(128, 256, 512, 1024, 2048)]
    public int N { get; set; }

    protected override GemmShape Current => new("n" + N, N, N, N);
}

/// <summary>The GEMMs behind LeNet-5 and ResNet-18 layers (im2col convolutions per sample, dense layers per batch).</summary>
[Config(typeof(GemmConfig))]
public class GemmLayerBenchmarks : GemmBenchmarkBase
{
    public static IEnumerable<GemmShape> Shapes => new[]
    {
        new GemmShape("LeNet C1 fwd (6x784x25)", 6, 784, 25),
        new GemmShape("LeNet C3 fwd (16x100x150)", 16, 100, 150),
        new GemmShape("LeNet C3 bwd-data (150x100x16, A^T)", 150, 100, 16, TransA: true),
        new GemmShape("LeNet C3 bwd-weights (16x150x100, B^T)", 16, 150, 100, TransB: true),
        new GemmShape("LeNet F6 fwd b64 (64x84x120, B^T)", 64, 84, 120, TransB: true),
        new GemmShape("ResNet conv2_x fwd (64x3136x576)", 64, 3136, 576),
        new GemmShape("ResNet conv3_x fwd (128x784x1152)", 128, 784, 1152),
        new GemmShape("ResNet conv4_x fwd (256x196x2304)", 256, 196, 2304),
        new GemmShape("ResNet conv5_x fwd (512x49x4608)", 512, 49, 4608),
        new GemmShape("ResNet conv3_x bwd-data (1152x784x128, A^T)", 1152, 784, 128, TransA: true),
        new GemmShape("ResNet conv3_x bwd-weights (128x1152x784, B^T)", 128, 1152, 784, TransB: true),
        new GemmShape("ResNet fc b8 (8x1000x512, B^T)", 8, 1000, 512, TransB: true),
    };

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    protected override GemmShape Current => Shape;
}

/// <summary>Adds GFLOP/s (from the problem's 2mnk and the mean time) to the GEMM tables.</summary>
public sealed class GemmConfig : ManualConfig
{
    public GemmConfig()
    {
        AddColumn(new GflopsColumn());
        // the layer shapes' names ("ResNet conv3_x bwd-weights (128x1152x784, B^T)") would be cut at 20 characters
        SummaryStyle = SummaryStyle.Default.WithMaxParameterColumnWidth(60);
    }

    private sealed class GflopsColumn : IColumn
    {
        public string Id => "GFLOPs";
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "2mnk / mean time";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is null) return "-";
            double flops = benchmarkCase.Parameters.Items.FirstOrDefault()?.Value switch
            {
                int n => 2.0 * n * n * n,
                GemmShape shape => shape.Flops,
                _ => double.NaN,
            };
            double seconds = report.ResultStatistics.Mean * 1e-9;
            return (flops / seconds / 1e9).ToString("F1", CultureInfo.InvariantCulture);
        }
    }
}
