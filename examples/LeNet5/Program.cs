using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using NetGen;
using NetGen.Data;
using NetGen.Examples.LeNet5;

// Trains LeNet-5 on MNIST digits. Default: the 8,000/2,000 digits bundled in data/mnist;
// pass --train-images/--train-labels/--test-images/--test-labels for the official IDX files.

var options = TrainOptions.Parse(args);
if (options is null) return 2;
if (options.Backend == Backend.Cuda && NetGen.Cuda.CudaBackend.Unavailable() is { } why)
{
    Console.Error.WriteLine("error: --backend cuda: " + why.Message);
    return 1;
}

Console.WriteLine(LeNet5.Summary);
Dataset train, test;
try
{
    train = options.TrainImages is null ? Mnist.LoadBundled(train: true) : Idx.ReadDataset(options.TrainImages, options.TrainLabels!);
    test = options.TestImages is null ? Mnist.LoadBundled(train: false) : Idx.ReadDataset(options.TestImages, options.TestLabels!);
}
catch (Exception e) when (e is IOException or InvalidDataException)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}
if (train.SampleSize != LeNet5.InputSize || test.SampleSize != LeNet5.InputSize)
{
    Console.Error.WriteLine($"error: LeNet-5 needs 28x28 images; got {train.Rows}x{train.Columns} (train) and {test.Rows}x{test.Columns} (test).");
    return 1;
}

// Standardise with the usual MNIST statistics so tanh units start in their linear range.
Mnist.Normalize(train.Features);
Mnist.Normalize(test.Features);
Console.WriteLine($"data: {train.Count:N0} training and {test.Count:N0} test digits; batch {options.Batch}, lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)} (cosine), momentum 0.9, weight decay 5e-4, shift ±{options.Shift} px, seed {options.Seed}");

using var net = new LeNet5(new NetworkOptions { Capacity = options.Batch, Seed = options.Seed, Backend = options.Backend }); // on CUDA: frees the GPU (after copying the parameters back)
Console.WriteLine("backend: " + (net.ActiveBackend == Backend.Cuda ? "CUDA, " + NetGen.Cuda.CudaDevice.Probe() : "CPU"));
var optimizer = new Sgd(options.LearningRate, momentum: 0.9f, weightDecay: 5e-4f);
var augmentRng = new Rng(options.Seed + 1);
var shiftTemp = new float[LeNet5.InputSize];
const float background = (0f - Mnist.PixelMean) / Mnist.PixelStd;
var batches = new BatchIterator(train, options.Batch, options.Seed);
bool live = !Console.IsOutputRedirected;
var total = Stopwatch.StartNew();
double accuracy = 0;

for (int epoch = 1; epoch <= options.Epochs; epoch++)
{
    // Cosine decay of the learning rate over the run.
    optimizer.LearningRate = (float)(options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / options.Epochs)));
    batches.Shuffle();
    var clock = Stopwatch.StartNew();
    double lossSum = 0;
    int step = 0, seen = 0;
    while (batches.TryNext(out int count))
    {
        // 8,000 digits are few for 61,706 parameters: random shifts of up to 2 pixels fight overfitting.
        if (options.Shift > 0)
            Augment.RandomShift(batches.Features, count, 1, 28, 28, options.Shift, background, shiftTemp, ref augmentRng);
        lossSum += net.TrainStep(batches.Features, batches.Labels, count, Loss.SoftmaxCrossEntropy, optimizer);
        step++;
        seen += count;
        if (live && (step % 10 == 0 || step == batches.BatchesPerEpoch))
            Console.Write($"\repoch {epoch}/{options.Epochs}  step {step}/{batches.BatchesPerEpoch}  loss {lossSum / step:F4}  {seen / clock.Elapsed.TotalSeconds:N0} samples/s   ");
    }
    double seconds = clock.Elapsed.TotalSeconds;
    accuracy = Metrics.Accuracy(net, test);
    if (live) Console.Write('\r');
    Console.WriteLine($"epoch {epoch}/{options.Epochs}  step {step}/{batches.BatchesPerEpoch}  loss {lossSum / step:F4}  {seen / seconds:N0} samples/s  {seconds:F1} s  test accuracy {accuracy:P2}");
}

Console.WriteLine($"trained in {total.Elapsed.TotalSeconds:F1} s; final test accuracy {accuracy:P2} on {test.Count:N0} digits");
net.Save(options.Output);
Console.WriteLine($"saved {Path.GetFullPath(options.Output)}");
return 0;

sealed class TrainOptions
{
    public int Epochs { get; private set; } = 20;
    public int Shift { get; private set; } = 2;
    public int Batch { get; private set; } = 32;
    public float LearningRate { get; private set; } = 0.05f;
    public ulong Seed { get; private set; } = 1;
    public string? TrainImages { get; private set; }
    public string? TrainLabels { get; private set; }
    public string? TestImages { get; private set; }
    public string? TestLabels { get; private set; }
    public string Output { get; private set; } = "lenet5.safetensors";
    public Backend Backend { get; private set; } = Backend.Cpu;

    private const string Usage = """
        usage: dotnet run -c Release --project examples/LeNet5 -- [options]
          --epochs N          passes over the training set (default 20)
          --batch N           mini-batch size (default 32)
          --lr X              initial learning rate, cosine-decayed (default 0.05)
          --seed N            seed for weights, data order and augmentation (default 1)
          --shift N           random translation augmentation in pixels, 0 = off (default 2)
          --train-images F    IDX images (gzipped or not); default: bundled 8,000 digits
          --train-labels F    IDX labels for --train-images
          --test-images F     IDX images for the test set; default: bundled 2,000 digits
          --test-labels F     IDX labels for --test-images
          --out F             checkpoint to write (default lenet5.safetensors)
          --backend B         cpu, cuda or auto (CUDA when it can, else the CPU; default cpu); see docs/gpu.md
        """;

    public static TrainOptions? Parse(string[] args)
    {
        var o = new TrainOptions();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--epochs": o.Epochs = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--epochs"); break;
                    case "--batch": o.Batch = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--batch"); break;
                    case "--lr": o.LearningRate = float.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--shift": o.Shift = int.Parse(Value(), CultureInfo.InvariantCulture) is var sh && sh >= 0 ? sh : throw new FormatException("--shift must be >= 0"); break;
                    case "--seed": o.Seed = ulong.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--train-images": o.TrainImages = Value(); break;
                    case "--train-labels": o.TrainLabels = Value(); break;
                    case "--test-images": o.TestImages = Value(); break;
                    case "--test-labels": o.TestLabels = Value(); break;
                    case "--out": o.Output = Value(); break;
                    case "--backend": o.Backend = NetGen.Cuda.CudaBackend.Parse(Value(), "--backend"); break;
                    case "-h": case "--help": Console.WriteLine(Usage); return null;
                    default: throw new FormatException($"unknown option '{args[i]}'");
                }
            }
            if ((o.TrainImages is null) != (o.TrainLabels is null)) throw new FormatException("--train-images and --train-labels go together");
            if ((o.TestImages is null) != (o.TestLabels is null)) throw new FormatException("--test-images and --test-labels go together");
            if (!(o.LearningRate > 0)) throw new FormatException("--lr must be positive");
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            Console.Error.WriteLine(Usage);
            return null;
        }
        return o;
    }

    private static int Positive(int value, string name) => value > 0 ? value : throw new FormatException($"{name} must be positive");
}
