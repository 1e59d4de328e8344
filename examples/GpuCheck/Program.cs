using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using NetGen;
using NetGen.Cpu;
using NetGen.Cuda;
using NetGen.Cuda.Native;
using NetGen.Examples.Generative;
using NetGen.Examples.GpuCheck;
using NetGen.Examples.Sequence;
using NetGen.Examples.LeNet5;
using NetGen.Examples.Zoo;

// netgen-gpucheck: what NetGen finds of CUDA on this machine; cuBLAS SGEMM against the CPU GEMM; then every op
// network (OpNetworks.cs) and every example network with a CUDA path run forward, backward and through training steps
// on CUDA and on the CPU (the oracle) and compared; then timings. Exit codes: 0 all checks passed, 1 a check failed,
// 2 bad arguments, 3 no CUDA device (the output says "skipped: no CUDA device" and why). docs/gpu.md explains the tolerances.
//
//   netgen-gpucheck                 everything
//   netgen-gpucheck --quick         op networks, LeNet-5, AlexNet, the generative and recurrent networks; no VGG-16,
//                                   GoogLeNet or ResNets, no benchmarks
//   netgen-gpucheck --cpu-vs-cpu    the comparison itself, with both sides on the CPU: every error must be exactly 0
//                                   (CI runs this with --quick, so the harness is tested on machines without a GPU)
//   netgen-gpucheck --cpu-vs-cpu --nudge
//                                   both sides on the CPU, the second given the input moved by one ulp: every error
//                                   must be within the plain tolerances, so a network's own rounding sensitivity is
//                                   far below them (CI runs this with --quick; it skips the zoo networks, whose
//                                   floors are above the tolerances)
//   netgen-gpucheck --only A,B      only the networks whose names contain one of A, B, ... (any case)
//
// CI also runs it against tests/FakeCuda, a CPU stand-in for the CUDA libraries (tests/FakeCuda/run.sh).

bool quick = args.Contains("--quick");
int onlyAt = Array.IndexOf(args, "--only");
if (onlyAt >= 0 && onlyAt + 1 >= args.Length)
{
    Console.Error.WriteLine("--only needs a comma-separated list of network name fragments, e.g. --only LSTM,LeNet");
    return 2;
}
string[] only = onlyAt >= 0 ? args[onlyAt + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : Array.Empty<string>();
List<ParityCase> Selected() => ParityCase.All(quick)
    .Where(c => only.Length == 0 || only.Any(o => c.Name.Contains(o, StringComparison.OrdinalIgnoreCase))).ToList();
if (args.Contains("--cpu-vs-cpu"))
{
    ParityCase.Oracle = Backend.Cpu;
    ParityCase.Nudge = args.Contains("--nudge");
    Console.WriteLine(ParityCase.Nudge
        ? "NetGen GPU self-check harness, both sides on the CPU, the second given the input moved by one ulp (errors must be within the tolerances)"
        : "NetGen GPU self-check harness, both sides on the CPU (errors must be exactly 0)");
    Console.WriteLine(ParityCase.Header);
    int mismatches = 0;
    foreach (var c in Selected())
    {
        if (ParityCase.Nudge && c.RoundingSensitive)
        {
            Console.WriteLine($"  {c.Name,-34} skipped: rounding-sensitive, its floor is above the tolerances (docs/gpu.md)");
            continue;
        }
        mismatches += c.Run(allowTf32: false);
    }
    Console.WriteLine(mismatches == 0 ? "harness ok" : $"{mismatches} harness check(s) FAILED");
    return mismatches == 0 ? 0 : 1;
}

Console.WriteLine("NetGen GPU self-check");
foreach (CudaLibrary library in Enum.GetValues<CudaLibrary>())
    Console.WriteLine($"  {library,-8} {(CudaLibraries.TryLoad(library, out string? path) ? path : "not found")}");
foreach (string companion in CudaLibraries.Preloaded)
    Console.WriteLine($"  {"",-8} + {companion}");
CudaProbe probe = CudaDevice.Probe();
Console.WriteLine("device: " + probe);
if (!probe.Available) return 3;
if (CudaBackend.Unavailable() is { } unavailable)
{
    Console.WriteLine("skipped: no CUDA device (" + unavailable.Message + ")");
    return 3;
}

var cases = Selected();
if (cases.Count == 0)
{
    Console.Error.WriteLine("--only " + string.Join(",", only) + " selects no network; the names are in examples/GpuCheck/Program.cs (ParityCase.All)");
    return 2;
}

int failures = GemmCheck.Run();

Console.WriteLine();
Console.WriteLine("CUDA against the CPU (error = max |CUDA - CPU| / max |CPU| per tensor; fp32 = TF32 off)");
Console.WriteLine(ParityCase.Header);
foreach (var c in cases)
    failures += c.Run(allowTf32: false);
foreach (var c in cases.Where(c => c.Name is "LeNet-5" or "ResNet-18"))
    failures += c.Run(allowTf32: true);

if (!quick && only.Length == 0)
{
    Console.WriteLine();
    Console.WriteLine("Timings (median over the timed runs; CUDA graphs replayed; compare with benchmarks/gpu/torch_reference.py on the same machine)");
    Bench.TrainStep("LeNet-5", o => new LeNet5(o), 64, allowTf32: false);
    Bench.TrainStep("ResNet-18", o => new ResNet18(o), 64, allowTf32: true);
    Bench.TrainStep("ResNet-50", o => new ResNet50(o), 64, allowTf32: true);
    Bench.Inference("ResNet-50", o => new ResNet50(o), 1, allowTf32: true);
    Bench.Inference("ResNet-50", o => new ResNet50(o), 64, allowTf32: true);
    // Recurrent layers launch per step (docs/gpu.md): the sequence example's 2-layer LSTM against PyTorch's cuDNN LSTM.
    Bench.TrainStep("LSTM 2x128", o => new SeparationNet(o), 16, allowTf32: false, Loss.MeanSquaredError);
}

Console.WriteLine();
Console.WriteLine(failures == 0 ? "all checks passed" : $"{failures} check(s) FAILED");
return failures == 0 ? 0 : 1;

/// <summary>cuBLAS SGEMM against NetGen's CPU GEMM on layer-sized products.</summary>
internal static class GemmCheck
{
    public static int Run()
    {
        int failures = 0;
        var rng = new Rng(1);
        foreach (var (m, n, k, what) in new[]
        {
            (6, 784, 25, "LeNet C1"), (64, 3136, 576, "ResNet conv2_x"), (512, 49, 4608, "ResNet conv5_x"), (1024, 1024, 1024, "square 1024"),
        })
        {
            var a = new float[m * k];
            var b = new float[k * n];
            for (int i = 0; i < a.Length; i++) a[i] = rng.NextUniform(-1f, 1f);
            for (int i = 0; i < b.Length; i++) b[i] = rng.NextUniform(-1f, 1f);
            var cpu = new float[m * n];
            var gpu = new float[m * n];
            Gemm.Multiply(false, false, m, n, k, a, b, cpu, accumulate: false);
            var clock = Stopwatch.StartNew();
            CudaDevice.Sgemm(m, n, k, a, b, gpu);
            double ms = clock.Elapsed.TotalMilliseconds;
            double worst = 0;
            for (int i = 0; i < cpu.Length; i++)
                worst = Math.Max(worst, Math.Abs(cpu[i] - gpu[i]) / (1e-5 + 2e-7 * k + 1e-5 * Math.Abs(cpu[i])));
            bool ok = worst <= 1;
            if (!ok) failures++;
            Console.WriteLine($"  cuBLAS SGEMM {what,-15} {m}x{n}x{k}: {(ok ? "ok" : "FAILED")}  worst error {worst:F3} of the tolerance  ({ms:F1} ms with copies)");
        }
        return failures;
    }
}

/// <summary>
/// One network on CUDA against the same network (same initial parameters) on the CPU: inference forward, training
/// forward, backward (input and parameter gradients), then three SGD-with-momentum steps (losses and parameters).
/// </summary>
/// <param name="Depth">Tolerance multiplier: rounding differences grow with the layers they pass through.</param>
/// <param name="RoundingSensitive">
/// Its gradients move by more than the tolerances when the input moves by one ulp (ReLU and max-pooling choices near
/// their thresholds): the zoo networks. The rounding rule in <see cref="Run"/> judges them; <c>--nudge</c> skips them.
/// </param>
internal sealed record ParityCase(string Name, Func<NetworkOptions, ISingleInputNetwork> Create, int Batch, Loss Loss, double Depth,
    bool RoundingSensitive = false)
{
    // Base tolerances, as a fraction of the tensor's largest CPU value. fp32: cuDNN and cuBLAS sum in other orders
    // than the CPU (and cuDNN's FFT / Winograd algorithms round differently). TF32: 10-bit mantissas in the products.
    private const double Fp32Forward = 1e-4, Fp32Gradient = 1e-3, Tf32Forward = 1e-2, Tf32Gradient = 5e-2;
    private const int Steps = 3;

    /// <summary>The backend of the instance checked against the CPU: CUDA, or the CPU itself to test this harness.</summary>
    public static Backend Oracle { get; set; } = Backend.Cuda;

    /// <summary>With <see cref="Oracle"/> the CPU: the checked instance gets the input moved by one ulp, and the plain tolerances apply.</summary>
    public static bool Nudge { get; set; }

    public static List<ParityCase> All(bool quick)
    {
        var cases = new List<ParityCase>
        {
            new("Conv2d + bias", o => new ConvCheck(o), 4, Loss.MeanSquaredError, 1),
            new("Conv2d stride 2, ReLU", o => new StridedConvCheck(o), 4, Loss.MeanSquaredError, 1),
            new("Dense, tanh, leaky ReLU, sigmoid", o => new DenseActivationsCheck(o), 8, Loss.MeanSquaredError, 1),
            new("MaxPool2d", o => new MaxPoolCheck(o), 4, Loss.MeanSquaredError, 1),
            new("AvgPool2d, AdaptiveAvgPool2d", o => new AvgPoolCheck(o), 4, Loss.MeanSquaredError, 1),
            new("MaxPool2d ceil mode, Concat", o => new CeilPoolConcatCheck(o), 4, Loss.MeanSquaredError, 1),
            new("BatchNorm2d, GlobalAvgPool", o => new BatchNorm2dCheck(o), 6, Loss.MeanSquaredError, 1),
            new("BatchNorm1d", o => new BatchNorm1dCheck(o), 6, Loss.MeanSquaredError, 1),
            new("Residual add, Reshape", o => new ResidualCheck(o), 4, Loss.MeanSquaredError, 1),
            new("Dropout", o => new DropoutCheck(o), 8, Loss.MeanSquaredError, 1),
            new("Softmax", o => new SoftmaxCheck(o), 8, Loss.MeanSquaredError, 1),
            new("Multiply, Exp, Scale", o => new MultiplyExpScaleCheck(o), 8, Loss.MeanSquaredError, 1),
            new("LocalResponseNorm", o => new LrnCheck(o), 4, Loss.MeanSquaredError, 1),
            new("ConvTranspose2d", o => new ConvTransposeCheck(o), 4, Loss.MeanSquaredError, 1),
            new("Upsample nearest, bilinear", o => new UpsampleCheck(o), 4, Loss.MeanSquaredError, 1),
            new("Step, Stack", o => new StepStackCheck(o), 4, Loss.MeanSquaredError, 1),
            new("LSTM 2 layers, bidirectional", o => new LstmCheck(o), 4, Loss.MeanSquaredError, 2),
            new("GRU 2 layers, last state", o => new GruCheck(o), 4, Loss.MeanSquaredError, 2),
            new("RNN bidirectional, last state", o => new RnnCheck(o), 4, Loss.MeanSquaredError, 2),
            new("LSTM initial states (3 inputs)", o => new JoinedInitialStateLstm(o), 4, Loss.MeanSquaredError, 2),
            new("LeNet-5", o => new LeNet5(o), 16, Loss.SoftmaxCrossEntropy, 2),
            new("DCGAN generator", o => new DcganGenerator(o), 4, Loss.MeanSquaredError, 5),
            new("DCGAN discriminator (BCE)", o => new DcganDiscriminator(o), 4, Loss.BinaryCrossEntropyWithLogits, 5),
            new("U-Net generator (L1)", o => new UNetGenerator(o), 2, Loss.L1, 5),
            new("PatchGAN (2 inputs, BCE)", o => new TwoInputPatchDiscriminator(o), 4, Loss.BinaryCrossEntropyWithLogits, 5),
            new("VAE (2 inputs, 3 outputs)", o => new JoinedVae(o), 4, Loss.MeanSquaredError, 5),
            new("Memory LSTM (T=50, last state)", o => new MemoryLstm50(o), 8, Loss.BinaryCrossEntropyWithLogits, 3),
            // the one zoo network in the quick set: its large convolutions and Dense layers take about a minute on the fake device
            new("AlexNet", o => new AlexNet(o), 2, Loss.SoftmaxCrossEntropy, 10, RoundingSensitive: true),
        };
        if (!quick)
        {
            cases.Add(new("VGG-16", o => new Vgg16(o), 2, Loss.SoftmaxCrossEntropy, 10, RoundingSensitive: true));
            cases.Add(new("GoogLeNet", o => new GoogLeNet(o), 2, Loss.SoftmaxCrossEntropy, 10, RoundingSensitive: true));
            cases.Add(new("ResNet-18", o => new ResNet18(o), 2, Loss.SoftmaxCrossEntropy, 10, RoundingSensitive: true));
            cases.Add(new("ResNet-50", o => new ResNet50(o), 2, Loss.SoftmaxCrossEntropy, 20, RoundingSensitive: true));
        }
        return cases;
    }

    public const string Header = "  network                            math  batch  forward   train fwd  input grad  param grad  3 steps   result";

    public int Run(bool allowTf32)
    {
        bool harness = Oracle == Backend.Cpu && !Nudge;
        double forwardTolerance = harness ? 0 : (allowTf32 ? Tf32Forward : Fp32Forward) * Depth;
        double gradientTolerance = harness ? 0 : (allowTf32 ? Tf32Gradient : Fp32Gradient) * Depth;
        double[] tolerances = { forwardTolerance, forwardTolerance, gradientTolerance, gradientTolerance, gradientTolerance, gradientTolerance };
        Measured? measured = null;
        double[]? sensitivity = null;
        string? crash = null;
        ISingleInputNetwork? gpuNetwork = null;
        try
        {
            var cpu = Create(new NetworkOptions { Capacity = Batch });
            float[] initial = cpu.Parameters.ToArray();
            var gpu = gpuNetwork = Create(new NetworkOptions { Capacity = Batch, Backend = Oracle, AllowTf32 = allowTf32 });
            if (gpu.ActiveBackend != Oracle) throw new InvalidOperationException($"the {Oracle} instance runs on {gpu.ActiveBackend}");
            initial.CopyTo(gpu.Parameters);

            var rng = new Rng(7);
            var data = new Data(
                Random(ref rng, Batch * cpu.InputSize, 0f, 1f),
                Random(ref rng, Batch * cpu.OutputSize, -1f, 1f),
                Enumerable.Range(0, Batch).Select(i => i % cpu.OutputSize).ToArray(),
                Random(ref rng, Batch * cpu.OutputSize, 0f, 1f));
            measured = Compare(cpu, gpu, data, Nudge ? Nudged(data.Input) : data.Input, gradientTolerance);
            if (!allowTf32 && Oracle != Backend.Cpu && Name == "LeNet-5")
                Console.WriteLine("  cuDNN algorithms for LeNet-5, batch " + Batch + ":\n" + Indent(((LeNet5)gpu).CudaAlgorithms(Batch)));

            if (Oracle != Backend.Cpu && Enumerable.Range(0, measured.Errors.Length).Any(i => measured.Errors[i] > tolerances[i]))
            {
                // Rounding or a bug? Where a ReLU or max-pooling decision sits within rounding of its threshold, the
                // GPU's other summation order can tip it the other way, and the gradients below it then differ by far
                // more than rounding (deep networks with batch normalization at batch 2 have such elements). The CPU
                // does the same against itself when the input moves by one ulp: that change is the noise floor.
                var a = Create(new NetworkOptions { Capacity = Batch });
                var b = Create(new NetworkOptions { Capacity = Batch });
                initial.CopyTo(a.Parameters);
                initial.CopyTo(b.Parameters);
                sensitivity = Compare(a, b, data, Nudged(data.Input), worstTensorsAbove: double.PositiveInfinity).Errors;
            }
        }
        catch (Exception e)
        {
            crash = e.GetType().Name + ": " + e.Message;
        }
        finally
        {
            (gpuNetwork as IDisposable)?.Dispose(); // the GPU memory goes back now, not when the collector finds it
        }

        double[] errors = measured?.Errors ?? Array.Empty<double>();
        // Within the tolerance: "ok". Above it but within RoundingFactor times the CPU's own one-ulp sensitivity: "~".
        bool Within(int i) => errors[i] <= tolerances[i];
        bool Rounding(int i) => !Within(i) && sensitivity is not null && errors[i] <= RoundingFactor * sensitivity[i];
        bool Passes(int i) => Within(i) || Rounding(i);
        bool ok = crash is null && Enumerable.Range(0, errors.Length).All(Passes);
        bool rounding = ok && Enumerable.Range(0, errors.Length).Any(Rounding);
        string Mark(params int[] quantities) => !quantities.All(Passes) ? "!" : quantities.All(Within) ? " " : "~";
        string Cell(int i) => i < errors.Length ? $"{errors[i],8:E1}{Mark(i)}" : "       - ";
        string steps = errors.Length > 5 ? $"{Math.Max(errors[4], errors[5]),8:E1}{Mark(4, 5)}" : "       - ";
        Console.WriteLine($"  {Name,-34} {(allowTf32 ? "TF32" : "fp32")}  {Batch,5}  {Cell(0)}  {Cell(1)}   {Cell(2)}   {Cell(3)}  {steps}  {(ok ? rounding ? "ok (~ rounding)" : "ok" : "FAILED")}");
        if (crash is not null) Console.WriteLine("    " + crash);
        for (int i = 0; i < errors.Length; i++)
        {
            if (Within(i)) continue;
            string floor = sensitivity is null ? "" : $"; the CPU against itself, input moved by one ulp: {sensitivity[i]:E2}";
            Console.WriteLine($"    {Quantities[i]}: error {errors[i]:E2} > tolerance {tolerances[i]:E1}{floor}{(Rounding(i) ? $" (within {RoundingFactor}x: rounding)" : "")}");
        }
        if (!ok && measured?.WorstTensors is not null && !Passes(3)) Console.WriteLine(measured.WorstTensors);
        return ok ? 0 : 1;
    }

    /// <summary>
    /// An error above the tolerance still counts as rounding when it is at most this many times what the CPU shows
    /// against itself when the input moves by one ulp (docs/gpu.md, "Numerics and tolerances").
    /// </summary>
    private const double RoundingFactor = 4;

    /// <summary>The input with every element moved by one ulp, alternately up and down.</summary>
    private static float[] Nudged(float[] input)
    {
        var nudged = (float[])input.Clone();
        for (int i = 0; i < nudged.Length; i++) nudged[i] = i % 2 == 0 ? MathF.BitIncrement(nudged[i]) : MathF.BitDecrement(nudged[i]);
        return nudged;
    }

    private static readonly string[] Quantities = { "forward", "train forward", "input gradient", "parameter gradient", "loss", "parameters" };

    /// <summary>The input, the output gradient for Backward, and the labels and targets for the training steps.</summary>
    private sealed record Data(float[] Input, float[] OutputGradient, int[] Labels, float[] Targets);

    /// <summary>The errors, in the order of <see cref="Quantities"/>, and the parameter gradients furthest apart (null when close enough).</summary>
    private sealed record Measured(double[] Errors, string? WorstTensors);

    /// <summary>
    /// Runs the same passes on two instances that start from the same parameters: inference and training forward, backward,
    /// then <see cref="Steps"/> SGD-with-momentum steps; <paramref name="otherInput"/> is what <paramref name="other"/> gets
    /// as its input (the same input, or a nudged one). The per-tensor report is made only when the parameter gradients
    /// differ by more than <paramref name="worstTensorsAbove"/>.
    /// </summary>
    private Measured Compare(ISingleInputNetwork reference, ISingleInputNetwork other, Data data, float[] otherInput, double worstTensorsAbove)
    {
        var errors = new double[Quantities.Length];
        errors[0] = Error(reference.Forward(data.Input, Batch), other.Forward(otherInput, Batch));
        errors[1] = Error(reference.Forward(data.Input, Batch, training: true), other.Forward(otherInput, Batch, training: true));
        reference.ZeroGradients();
        other.ZeroGradients();
        errors[2] = Error(reference.Backward(data.OutputGradient), other.Backward(data.OutputGradient));
        errors[3] = Error(reference.Gradients, other.Gradients);
        string? worst = errors[3] > worstTensorsAbove ? WorstTensors(reference.Schema, reference.Gradients, other.Gradients) : null;

        var referenceOptimizer = new Sgd(0.01f, momentum: 0.9f);
        var otherOptimizer = new Sgd(0.01f, momentum: 0.9f);
        for (int step = 0; step < Steps; step++)
        {
            float expected = Loss == Loss.SoftmaxCrossEntropy
                ? reference.TrainStep(data.Input, data.Labels, Batch, Loss, referenceOptimizer)
                : reference.TrainStep(data.Input, data.Targets, Batch, Loss, referenceOptimizer);
            float actual = Loss == Loss.SoftmaxCrossEntropy
                ? other.TrainStep(otherInput, data.Labels, Batch, Loss, otherOptimizer)
                : other.TrainStep(otherInput, data.Targets, Batch, Loss, otherOptimizer);
            errors[4] = Math.Max(errors[4], Math.Abs(expected - actual) / Math.Max(1e-6, Math.Abs(expected)));
        }
        errors[5] = Error(reference.Parameters, other.Parameters);
        return new Measured(errors, worst);
    }

    /// <summary>The parameter gradients furthest from the CPU's, each tensor's error against its own largest value: where to look.</summary>
    private static string WorstTensors(IReadOnlyList<ParameterInfo> schema, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        var ranked = new List<(double Error, string Line)>();
        foreach (var tensor in schema)
        {
            var e = expected.Slice(tensor.Offset, tensor.Length);
            double scale = 0;
            foreach (float v in e) scale = Math.Max(scale, Math.Abs(v));
            var a = actual.Slice(tensor.Offset, tensor.Length);
            double error = Error(e, a);
            // A few far-off elements with a small overall (L2) error: a discontinuity (a ReLU or max pooling choice
            // that rounding tipped the other way); many: an error in the arithmetic.
            double squaredDifference = 0, squared = 0;
            int far = 0;
            for (int i = 0; i < e.Length; i++)
            {
                double d = (double)a[i] - e[i];
                squaredDifference += d * d;
                squared += (double)e[i] * e[i];
                if (Math.Abs(d) > 1e-3 * scale) far++;
            }
            double l2 = Math.Sqrt(squaredDifference / Math.Max(squared, 1e-300));
            ranked.Add((error, $"      {tensor.Name} [{string.Join("x", tensor.Shape)}]: error {error:E2} of its largest value {scale:E2}; L2 error {l2:E2}; {far} of {e.Length} elements off by more than 1e-3 of it"));
        }
        return "    worst parameter gradients:\n" + string.Join("\n", ranked.OrderByDescending(r => r.Error).Take(8).Select(r => r.Line));
    }

    private static string Indent(string text) => string.Join("\n", text.TrimEnd('\n').Split('\n').Select(l => "    " + l));

    internal static float[] Random(ref Rng rng, int count, float low, float high)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = rng.NextUniform(low, high);
        return values;
    }

    /// <summary>max |actual - expected| / max |expected| (NaN anywhere counts as infinitely wrong).</summary>
    private static double Error(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        double scale = 1e-12, worst = 0;
        foreach (float v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - actual[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            worst = Math.Max(worst, d);
        }
        return worst / scale;
    }
}

/// <summary>Wall-clock timings of whole passes; each TrainStep reads its loss back, so each timed call ends synchronised.</summary>
internal static class Bench
{
    private const int Warmup = 5, Runs = 30;

    /// <param name="loss">Null: softmax cross-entropy on class labels; otherwise this loss on random targets in [0, 1].</param>
    public static void TrainStep(string name, Func<NetworkOptions, ISingleInputNetwork> create, int batch, bool allowTf32, Loss? loss = null)
    {
        var network = create(new NetworkOptions { Capacity = batch, Backend = Backend.Cuda, AllowTf32 = allowTf32 });
        var rng = new Rng(3);
        float[] input = ParityCase.Random(ref rng, batch * network.InputSize, 0f, 1f);
        int[] labels = Enumerable.Range(0, batch).Select(i => i % network.OutputSize).ToArray();
        float[] targets = ParityCase.Random(ref rng, batch * network.OutputSize, 0f, 1f);
        var optimizer = new Sgd(0.01f, momentum: 0.9f);
        double ms = Median(() =>
        {
            if (loss is null) network.TrainStep(input, labels, batch, Loss.SoftmaxCrossEntropy, optimizer);
            else network.TrainStep(input, targets, batch, loss, optimizer);
        });
        (network as IDisposable)?.Dispose();
        Console.WriteLine($"  {name,-10} train step  batch {batch,3} {(allowTf32 ? "TF32" : "fp32")}: {ms,8:F3} ms  {batch * 1000 / ms,10:F0} images/s");
    }

    public static void Inference(string name, Func<NetworkOptions, ISingleInputNetwork> create, int batch, bool allowTf32)
    {
        var network = create(new NetworkOptions { Capacity = batch, Backend = Backend.Cuda, AllowTf32 = allowTf32 });
        var rng = new Rng(4);
        float[] input = ParityCase.Random(ref rng, batch * network.InputSize, 0f, 1f);
        double ms = Median(() => network.Forward(input, batch));
        (network as IDisposable)?.Dispose();
        Console.WriteLine($"  {name,-10} inference   batch {batch,3} {(allowTf32 ? "TF32" : "fp32")}: {ms,8:F3} ms  {batch * 1000 / ms,10:F0} images/s");
    }

    private static double Median(Action run)
    {
        for (int i = 0; i < Warmup; i++) run();
        var times = new double[Runs];
        for (int i = 0; i < Runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[Runs / 2];
    }
}
