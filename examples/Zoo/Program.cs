using System;
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Examples.Zoo;

// The model zoo: classic ImageNet architectures declared with NetGen, with torchvision's layouts and
// state_dict names. Commands:
//   list                                    the networks, their parameter counts and inputs
//   summary <network>                       the compile-time summary table (layers, shapes, parameters, FLOPs, memory)
//   bench <network> [--batch N] [--iterations N] [--warmup N]
//                                           times inference and a training forward + backward pass on random data

if (args.Length == 0) return Cli.Fail("missing command");
switch (args[0])
{
    case "-h" or "--help" or "help":
        Console.WriteLine(Cli.Usage);
        return 0;
    case "list":
        if (args.Length != 1) return Cli.Fail($"'list' takes no arguments (got '{args[1]}')");
        Cli.List();
        return 0;
    case "summary":
    {
        if (args.Length != 2) return Cli.Fail("'summary' takes one network name, e.g. summary resnet50");
        var model = Zoo.Find(args[1]);
        if (model is null) return Cli.UnknownNetwork(args[1]);
        Console.WriteLine(model.Summary);
        return 0;
    }
    case "bench":
    {
        if (args.Length < 2 || args[1].StartsWith('-')) return Cli.Fail("'bench' needs a network name, e.g. bench resnet18");
        var model = Zoo.Find(args[1]);
        if (model is null) return Cli.UnknownNetwork(args[1]);
        var options = BenchOptions.Parse(args.AsSpan(2));
        if (options is null) return 2;
        return Bench.Run(model, options);
    }
    default:
        return Cli.Fail($"unknown command '{args[0]}'");
}

/// <summary>One network of the zoo: its command-line name and what the generator emitted for it.</summary>
sealed record ZooEntry(
    string Name,
    string Description,
    int ParameterCount,
    int BufferCount,
    string Summary,
    Func<NetworkOptions, ISingleInputNetwork> Create);

static class Zoo
{
    public static readonly ZooEntry[] Networks =
    {
        new("alexnet", "AlexNet (torchvision layout)", AlexNet.ParameterCount, AlexNet.BufferCount, AlexNet.Summary, o => new AlexNet(o)),
        new("vgg16", "VGG-16, configuration D, no batch norm", Vgg16.ParameterCount, Vgg16.BufferCount, Vgg16.Summary, o => new Vgg16(o)),
        new("googlenet", "GoogLeNet / Inception v1, no aux heads", GoogLeNet.ParameterCount, GoogLeNet.BufferCount, GoogLeNet.Summary, o => new GoogLeNet(o)),
        new("resnet18", "ResNet-18, basic blocks", ResNet18.ParameterCount, ResNet18.BufferCount, ResNet18.Summary, o => new ResNet18(o)),
        new("resnet50", "ResNet-50 v1.5, bottleneck blocks", ResNet50.ParameterCount, ResNet50.BufferCount, ResNet50.Summary, o => new ResNet50(o)),
    };

    public static ZooEntry? Find(string name)
    {
        foreach (var n in Networks)
            if (string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase)) return n;
        return null;
    }

    public static string Names => string.Join(", ", Array.ConvertAll(Networks, n => n.Name));
}

static class Cli
{
    public const string Usage = """
        usage: dotnet run -c Release --project examples/Zoo -- <command>
          list                          the networks, their parameter counts and buffers
          summary <network>             layers, output shapes, parameters, FLOPs and arena sizes
          bench <network> [options]     times inference and a training step on random input
            --batch N                   samples per pass (default 1). Memory grows with it: training keeps
                                        every activation, about 150 MB per sample for VGG-16 and ResNet-50,
                                        so VGG-16 at batch 8 needs about 2.5 GB (1.1 GB of it weights and
                                        gradients); 'summary' shows the per-sample arena sizes
            --iterations N              timed passes of each kind (default 5)
            --warmup N                  untimed passes first (default 1)
        networks: alexnet, vgg16, googlenet, resnet18, resnet50 (input 3x224x224, 1000 classes)
        """;

    public static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        Console.Error.WriteLine(Usage);
        return 2;
    }

    public static int UnknownNetwork(string name)
    {
        Console.Error.WriteLine($"error: unknown network '{name}'; the zoo has {Zoo.Names} (see 'list')");
        return 2;
    }

    public static void List()
    {
        Console.WriteLine($"{"network",-10} {"parameters",14} {"buffers",10}  input      description");
        foreach (var n in Zoo.Networks)
            Console.WriteLine($"{n.Name,-10} {n.ParameterCount,14:N0} {n.BufferCount,10:N0}  3x224x224  {n.Description}");
        Console.WriteLine("Parameters are the trainable floats (torchvision's count); buffers are batch-norm running statistics.");
    }
}

sealed class BenchOptions
{
    public int Batch { get; private set; } = 1;
    public int Iterations { get; private set; } = 5;
    public int Warmup { get; private set; } = 1;

    public static BenchOptions? Parse(ReadOnlySpan<string> args)
    {
        var o = new BenchOptions();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string option = args[i];
                string value = i + 1 < args.Length ? args[++i] : throw new FormatException($"{option} needs a value");
                switch (option)
                {
                    case "--batch": o.Batch = Parse(value, option, minimum: 1); break;
                    case "--iterations": o.Iterations = Parse(value, option, minimum: 1); break;
                    case "--warmup": o.Warmup = Parse(value, option, minimum: 0); break;
                    default: throw new FormatException($"unknown option '{option}'");
                }
            }
        }
        catch (FormatException e)
        {
            Cli.Fail(e.Message);
            return null;
        }
        return o;
    }

    private static int Parse(string text, string option, int minimum)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < minimum)
            throw new FormatException($"{option} needs a whole number >= {minimum}, not '{text}'");
        return value;
    }
}

static class Bench
{
    public static int Run(ZooEntry model, BenchOptions options)
    {
        int batch = options.Batch;
        Console.WriteLine($"{model.Name}: {model.ParameterCount:N0} parameters, batch {batch}, {options.Warmup} warm-up + {options.Iterations} timed passes; " +
                          $"{Environment.ProcessorCount} cores, SIMD {NetGen.Cpu.Simd.Best}");

        var clock = Stopwatch.StartNew();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        ISingleInputNetwork net;
        try
        {
            net = model.Create(new NetworkOptions { Capacity = batch, Seed = 1 });
        }
        catch (Exception e) when (e is OutOfMemoryException or OverflowException)
        {
            Console.Error.WriteLine($"error: {model.Name} at batch {batch} does not fit in memory ({e.GetType().Name}: {e.Message}); try a smaller --batch");
            return 1;
        }
        catch (ArgumentOutOfRangeException e)
        {
            return Cli.Fail($"--batch {batch}: {e.Message}");
        }
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Console.WriteLine($"created in {clock.Elapsed.TotalSeconds:F1} s: {bytes / (1024.0 * 1024.0):N0} MB of parameters, gradients and arenas");

        // Random data: the timings do not depend on the values (no data-dependent branches in the kernels).
        var rng = new Rng(2);
        var input = new float[batch * net.InputSize];
        for (int i = 0; i < input.Length; i++) input[i] = rng.NextGaussian();
        var outputGradient = new float[batch * net.OutputSize];
        for (int i = 0; i < outputGradient.Length; i++) outputGradient[i] = rng.NextGaussian() / batch;

        var inference = Time("inference", options, () => net.Forward(input, batch));
        var training = Time("training forward + backward", options, () =>
        {
            net.Forward(input, batch, training: true);
            net.Backward(outputGradient, inputGradient: false);
        }, between: net.ZeroGradients);

        Console.WriteLine();
        Console.WriteLine($"{model.Name}, batch {batch}, {options.Iterations} iterations");
        Report("inference", inference, batch);
        Report("training (forward + backward)", training, batch);
        return 0;
    }

    /// <summary>Runs the warm-up passes, then times each pass; <paramref name="between"/> runs untimed before every pass.</summary>
    private static double[] Time(string what, BenchOptions options, Action pass, Action? between = null)
    {
        bool live = !Console.IsOutputRedirected;
        for (int i = 1; i <= options.Warmup; i++)
        {
            between?.Invoke();
            var warm = Stopwatch.StartNew();
            pass();
            Progress(live, $"{what}: warm-up {i}/{options.Warmup}  {warm.Elapsed.TotalMilliseconds:F1} ms");
        }
        var times = new double[options.Iterations];
        for (int i = 0; i < times.Length; i++)
        {
            between?.Invoke();
            long start = Stopwatch.GetTimestamp();
            pass();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            Progress(live, $"{what}: {i + 1}/{times.Length}  {times[i]:F1} ms");
        }
        if (live) Console.WriteLine();
        return times;
    }

    private static void Progress(bool live, string line)
    {
        if (live) Console.Write("\r" + line.PadRight(70));
        else Console.WriteLine(line);
    }

    private static void Report(string what, double[] times, int batch)
    {
        var sorted = (double[])times.Clone();
        Array.Sort(sorted);
        double mean = 0;
        foreach (double t in times) mean += t;
        mean /= times.Length;
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        Console.WriteLine($"  {what,-30} mean {mean,9:F1} ms   median {median,9:F1} ms   min {sorted[0],9:F1} ms   {batch * 1000 / median,8:F1} samples/s");
    }
}
