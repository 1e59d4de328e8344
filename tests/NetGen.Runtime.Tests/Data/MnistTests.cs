using System;
using System.Collections.Generic;
using System.IO;
using NetGen.Data;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class MnistTests
{
    // Per-digit counts of the bundled split (data/mnist/README.md; scripts/convert-mnist.mjs).
    private static readonly int[] TrainPerClass = { 801, 902, 793, 826, 784, 690, 811, 856, 755, 782 };
    private static readonly int[] TestPerClass = { 200, 225, 198, 206, 196, 173, 203, 214, 189, 196 };

    private static void AssertMnistSplit(Dataset data, int expectedCount, int[] expectedPerClass)
    {
        Assert.Equal(expectedCount, data.Count);
        Assert.Equal(28, data.Rows);
        Assert.Equal(28, data.Columns);
        Assert.Equal(1, data.Channels);
        Assert.Equal(784, data.SampleSize);
        Assert.Equal(expectedCount * 784, data.Features.Length);
        Assert.Equal(expectedCount, data.Labels.Length);

        var perClass = new int[10];
        foreach (int label in data.Labels)
        {
            Assert.InRange(label, 0, 9);
            perClass[label]++;
        }
        Assert.Equal(expectedPerClass, perClass);

        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in data.Features)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        Assert.Equal(0f, min);
        Assert.Equal(1f, max);

        // Every image has ink, and a typical MNIST digit covers roughly 10-25% of the pixels.
        for (int i = 0; i < data.Count; i++)
        {
            int ink = 0;
            foreach (float v in data.GetFeatures(i)) if (v > 0f) ink++;
            Assert.InRange(ink, 20, 600);
        }
        Assert.Contains(data.GetFeatures(0).ToArray(), v => v > 0.5f);

        // The files are shuffled, not sorted by class.
        Assert.True(new HashSet<int>(data.Labels[..30]).Count >= 5);
    }

    [Fact]
    public void LoadBundled_Train_Has8000StratifiedSamples() =>
        AssertMnistSplit(Mnist.LoadBundled(train: true), Mnist.BundledTrainCount, TrainPerClass);

    [Fact]
    public void LoadBundled_Test_Has2000StratifiedSamples() =>
        AssertMnistSplit(Mnist.LoadBundled(train: false), Mnist.BundledTestCount, TestPerClass);

    [Fact]
    public void BundledSplit_IsStratified80_20PerClass()
    {
        for (int c = 0; c < 10; c++)
        {
            int total = TrainPerClass[c] + TestPerClass[c];
            Assert.InRange(TrainPerClass[c] - 0.8 * total, -1.0, 1.0);
        }
        Assert.Equal(8000, Sum(TrainPerClass));
        Assert.Equal(2000, Sum(TestPerClass));
    }

    private static int Sum(int[] values)
    {
        int s = 0;
        foreach (int v in values) s += v;
        return s;
    }

    [Fact]
    public void BundledTrainAndTest_ShareNoImage()
    {
        Dataset train = Mnist.LoadBundled(true), test = Mnist.LoadBundled(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < train.Count; i++) seen.Add(Key(train, i));
        for (int i = 0; i < test.Count; i++) Assert.DoesNotContain(Key(test, i), seen);

        static string Key(Dataset d, int i)
        {
            var bytes = new byte[d.SampleSize];
            Span<float> f = d.GetFeatures(i);
            for (int k = 0; k < bytes.Length; k++) bytes[k] = (byte)MathF.Round(f[k] * 255f);
            return Convert.ToBase64String(bytes);
        }
    }

    [Fact]
    public void BundledPixels_AreExactBytesOver255()
    {
        Dataset test = Mnist.LoadBundled(false);
        foreach (float v in test.Features)
        {
            float b = MathF.Round(v * 255f);
            Assert.Equal(b / 255f, v);
        }
    }

    [Fact]
    public void LoadFromRepositoryDirectory_MatchesLoadBundled()
    {
        string dir = DataTestFiles.MnistDirectory();
        Assert.True(File.Exists(Path.Combine(dir, Mnist.TestLabelsFileName)));

        Dataset fromDir = Mnist.Load(dir, train: false);
        Dataset bundled = Mnist.LoadBundled(train: false);

        Assert.Equal(bundled.Labels, fromDir.Labels);
        Assert.Equal(bundled.Features, fromDir.Features);
    }

    [Fact]
    public void BundledDirectory_HoldsAllFourFiles()
    {
        string dir = Mnist.BundledDirectory;
        foreach (string name in new[] { Mnist.TrainImagesFileName, Mnist.TrainLabelsFileName, Mnist.TestImagesFileName, Mnist.TestLabelsFileName })
            Assert.True(File.Exists(Path.Combine(dir, name)), name);
    }

    [Fact]
    public void FindBundledDirectory_PrefersBaseDirectoryCopy_ThenWalksUp()
    {
        using var root = new DataTempDirectory();
        string nested = Path.Combine(root.Path, "app", "bin", "Debug");
        Directory.CreateDirectory(nested);
        string rootData = Path.Combine(root.Path, "data", "mnist");
        Directory.CreateDirectory(rootData);
        File.WriteAllBytes(Path.Combine(rootData, Mnist.TrainImagesFileName), new byte[] { 0 });

        // Walking up from the base directory finds root/data/mnist.
        Assert.Equal(rootData, Mnist.FindBundledDirectory(nested, nested));

        // ... unless the app copied the data next to itself.
        string copied = Path.Combine(nested, "data", "mnist");
        Directory.CreateDirectory(copied);
        File.WriteAllBytes(Path.Combine(copied, Mnist.TrainImagesFileName), new byte[] { 0 });
        Assert.Equal(copied, Mnist.FindBundledDirectory(nested, root.Path));

        // The current directory is searched when the base directory's ancestors have nothing.
        using var other = new DataTempDirectory();
        Assert.Equal(rootData, Mnist.FindBundledDirectory(other.Path, Path.Combine(root.Path, "app")));
    }

    [Fact]
    public void FindBundledDirectory_NotFound_ListsSearchedPlaces()
    {
        using var a = new DataTempDirectory();
        using var b = new DataTempDirectory();
        // An empty data/mnist (no train images) does not count.
        Directory.CreateDirectory(Path.Combine(a.Path, "data", "mnist"));

        // Only meaningful when no ancestor of the temp directory holds data/mnist.
        string? ancestorHit = null;
        for (var d = new DirectoryInfo(a.Path).Parent; d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "data", "mnist", Mnist.TrainImagesFileName))) ancestorHit = d.FullName;
        if (ancestorHit != null) return;

        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.FindBundledDirectory(a.Path, b.Path));
        Assert.Contains(Mnist.TrainImagesFileName, e.Message);
        Assert.Contains(Path.Combine(a.Path, "data", "mnist"), e.Message);
        Assert.Contains(Path.Combine(b.Path, "data", "mnist"), e.Message);
        Assert.Contains(Path.Combine(Path.GetDirectoryName(a.Path)!, "data", "mnist"), e.Message);
        Assert.Contains("Mnist.Load(directory, train)", e.Message);
    }

    [Fact]
    public void Load_AcceptsDecompressedOfficialFileNames()
    {
        using var dir = new DataTempDirectory();
        byte[] pixels = new byte[2 * 28 * 28];
        pixels[100] = 255;
        dir.Write("t10k-images-idx3-ubyte", DataTestFiles.ImagesIdx(2, 28, 28, pixels));
        dir.Write("t10k-labels-idx1-ubyte", DataTestFiles.LabelsIdx(2, new byte[] { 3, 4 }));

        Dataset data = Mnist.Load(dir.Path, train: false);

        Assert.Equal(2, data.Count);
        Assert.Equal(new[] { 3, 4 }, data.Labels);
        Assert.Equal(1f, data.Features[100]);
    }

    [Fact]
    public void Load_MissingFiles_NamesBothCandidates()
    {
        using var dir = new DataTempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => Mnist.Load(dir.Path, train: true));
        Assert.Contains(Path.Combine(dir.Path, Mnist.TrainImagesFileName), e.Message);
        Assert.Contains(Path.Combine(dir.Path, "train-images-idx3-ubyte"), e.Message);
    }
}
