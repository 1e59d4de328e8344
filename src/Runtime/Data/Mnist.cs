using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace NetGen.Data;

/// <summary>
/// MNIST loaders. The repository bundles 10,000 real MNIST digits in data/mnist/ as a fixed, stratified
/// 8,000 / 2,000 train/test split in the standard gzipped IDX files (see data/mnist/README.md);
/// <see cref="Load(string, bool)"/> also reads the official 60,000 / 10,000 files.
/// </summary>
public static class Mnist
{
    /// <summary>Training images file name (IDX, gzipped).</summary>
    public const string TrainImagesFileName = "train-images-idx3-ubyte.gz";

    /// <summary>Training labels file name (IDX, gzipped).</summary>
    public const string TrainLabelsFileName = "train-labels-idx1-ubyte.gz";

    /// <summary>Test images file name (IDX, gzipped).</summary>
    public const string TestImagesFileName = "t10k-images-idx3-ubyte.gz";

    /// <summary>Test labels file name (IDX, gzipped).</summary>
    public const string TestLabelsFileName = "t10k-labels-idx1-ubyte.gz";

    /// <summary>Samples in the bundled training split.</summary>
    public const int BundledTrainCount = 8000;

    /// <summary>Samples in the bundled test split.</summary>
    public const int BundledTestCount = 2000;

    /// <summary>Number of classes (digits 0..9).</summary>
    public const int ClassCount = 10;

    /// <summary>Mean pixel of the MNIST training set on the [0, 1] scale (the usual normalisation constant).</summary>
    public const float PixelMean = 0.1307f;

    /// <summary>Standard deviation of the MNIST training pixels on the [0, 1] scale.</summary>
    public const float PixelStd = 0.3081f;

    /// <summary>Standardises pixels in [0, 1] in place: (x - <see cref="PixelMean"/>) / <see cref="PixelStd"/>.</summary>
    public static void Normalize(Span<float> pixels)
    {
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (pixels[i] - PixelMean) / PixelStd;
    }

    /// <summary>
    /// The directory holding the bundled data: <c>AppContext.BaseDirectory/data/mnist</c> when the app copied
    /// the files to its output, otherwise the first <c>data/mnist</c> containing
    /// <see cref="TrainImagesFileName"/> found walking up the parent directories of
    /// <see cref="AppContext.BaseDirectory"/>, then of the current directory.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">Not found; the message lists every place searched.</exception>
    public static string BundledDirectory => FindBundledDirectory(AppContext.BaseDirectory, Directory.GetCurrentDirectory());

    /// <summary>Loads the bundled training (8,000 samples) or test (2,000 samples) split.</summary>
    public static Dataset LoadBundled(bool train) => Load(BundledDirectory, train);

    /// <summary>
    /// Loads <c>train-*</c> or <c>t10k-*</c> IDX files from <paramref name="directory"/>: the gzipped names
    /// (<see cref="TrainImagesFileName"/>, ...) or, when those are absent, the same names without ".gz"
    /// (as in a decompressed copy of the official MNIST files).
    /// </summary>
    public static Dataset Load(string directory, bool train)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string images = Resolve(directory, train ? TrainImagesFileName : TestImagesFileName);
        string labels = Resolve(directory, train ? TrainLabelsFileName : TestLabelsFileName);
        return Idx.ReadDataset(images, labels);
    }

    private static string Resolve(string directory, string gzName)
    {
        string gz = Path.Combine(directory, gzName);
        if (File.Exists(gz)) return gz;
        string raw = Path.Combine(directory, gzName[..^3]);
        if (File.Exists(raw)) return raw;
        throw new FileNotFoundException($"{gz}: file not found (nor {raw})", gz);
    }

    /// <summary>The search behind <see cref="BundledDirectory"/>, with explicit starting points.</summary>
    internal static string FindBundledDirectory(string baseDirectory, string currentDirectory)
    {
        var searched = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string start in new[] { baseDirectory, currentDirectory })
        {
            if (string.IsNullOrEmpty(start)) continue;
            for (DirectoryInfo? dir = new DirectoryInfo(Path.GetFullPath(start)); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "mnist");
                if (!seen.Add(candidate)) continue;
                searched.Add(candidate);
                if (File.Exists(Path.Combine(candidate, TrainImagesFileName))) return candidate;
            }
        }

        var message = new StringBuilder();
        message.Append("Bundled MNIST data not found: no data/mnist/").Append(TrainImagesFileName)
            .Append(" in AppContext.BaseDirectory, the current directory, or any of their parents. Searched:");
        foreach (string s in searched) message.AppendLine().Append("  ").Append(s);
        message.AppendLine().Append("Copy the repository's data/mnist folder to the application's output directory ")
            .Append("(e.g. <None Include=\"path/to/data/mnist/*.gz\" Link=\"data/mnist/%(Filename)%(Extension)\" CopyToOutputDirectory=\"PreserveNewest\" />), ")
            .Append("run from inside the repository, or call Mnist.Load(directory, train) with an explicit directory.");
        throw new DirectoryNotFoundException(message.ToString());
    }
}
