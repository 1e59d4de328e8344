using System;
using System.IO;
using NetGen.Data;
using NetGen.Examples.Generative;

// Generative models on the bundled MNIST digits with generated networks: a VAE, a (conditional) DCGAN and pix2pix
// inpainting. Each command prints its progress, writes PNGs (image grids and loss curves) to --out and exits 0;
// bad options print the usage and exit 2; missing data or an unwritable output folder exit 1.

CommandLine options;
try
{
    options = CommandLine.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}
if (options.Backend == NetGen.Backend.Cuda && NetGen.Cuda.CudaBackend.Unavailable() is { } why)
{
    Console.Error.WriteLine("error: --backend cuda: " + why.Message);
    return 1;
}

Dataset train, test;
try
{
    train = Subset(Mnist.LoadBundled(train: true), options.TrainCount);
    test = Subset(Mnist.LoadBundled(train: false), options.TestCount);
    Directory.CreateDirectory(options.Output);
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}

try
{
    return options.Command switch
    {
        "vae" => VaeCommand.Run(options, train, test),
        "gan" => GanCommand.Run(options, train),
        _ => Pix2PixCommand.Run(options, train, test),
    };
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}

static Dataset Subset(Dataset data, int? count)
{
    if (count is not int n || n >= data.Count) return data;
    return new Dataset(data.Features.AsSpan(0, n * data.SampleSize).ToArray(), data.Labels.AsSpan(0, n).ToArray(), data.Rows, data.Columns, data.Channels);
}
