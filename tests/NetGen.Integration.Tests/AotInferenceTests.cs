using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using NetGen.Data;
using NetGen.Examples.LeNet5;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Integration.Tests;

/// <summary>
/// Publishes examples/LeNet5.Infer with NativeAOT (once per test run), then checks the native binary's predictions
/// against the JIT-compiled network in this process: the same class for every digit, probabilities within 1e-5
/// (the AOT binary targets x86-64-v2 and may run narrower SIMD paths, so the last bits may differ).
/// </summary>
[Trait("Category", "Process")]
public class AotInferenceTests(ITestOutputHelper output, AotInferenceTests.Published published) : IClassFixture<AotInferenceTests.Published>
{
    public sealed class Published : IDisposable
    {
        public string Directory { get; } = Path.Combine(Path.GetTempPath(), "netgen-aot-" + Guid.NewGuid().ToString("N"));
        public string Binary => Path.Combine(Directory, "netgen-lenet5");
        public string Weights => Path.Combine(Directory, "lenet5.safetensors");
        public string PublishLog { get; }
        public int PublishExitCode { get; }

        public Published()
        {
            string root = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(root, "NetGen.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("NetGen.sln not found above the test folder");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "publish", Path.Combine(root, "examples", "LeNet5.Infer"), "-c", "Release", "-r", "linux-x64", "-o", Directory, "-nologo" })
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(600_000)) process.Kill(entireProcessTree: true);
            PublishExitCode = process.HasExited ? process.ExitCode : -1;
            PublishLog = stdout + stderr.Result;

            // Weights worth predicting with: 60 SGD steps on the bundled digits.
            var train = Mnist.LoadBundled(train: true);
            Mnist.Normalize(train.Features);
            var net = new LeNet5(new NetworkOptions { Capacity = 32, Seed = 3 });
            var sgd = new Sgd(0.05f, momentum: 0.9f);
            for (int step = 0; step < 60; step++)
                net.TrainStep(train.Features.AsSpan(step * 32 * 784, 32 * 784), train.Labels.AsSpan(step * 32, 32), 32, Loss.SoftmaxCrossEntropy, sgd);
            net.Save(Weights);
        }

        public void Dispose()
        {
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        }
    }

    private readonly Published _published = published;

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        Assert.True(_published.PublishExitCode == 0, "dotnet publish failed:\n" + _published.PublishLog);
        var start = new ProcessStartInfo(_published.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "netgen-lenet5 did not finish in 60 s");
        return (process.ExitCode, stdout, stderr.Result);
    }

    /// <summary>The JIT network's class and probability for each image of <paramref name="pixels"/> (raw, in [0, 1]).</summary>
    private (int Digit, float Probability)[] Jit(float[] pixels, int count)
    {
        var net = new LeNet5(new NetworkOptions { Capacity = 1 });
        net.Load(_published.Weights);
        var result = new (int, float)[count];
        for (int n = 0; n < count; n++)
        {
            var sample = pixels.AsSpan(n * 784, 784).ToArray();
            Mnist.Normalize(sample);
            var logits = net.Forward(sample, 1);
            float max = logits.ToArray().Max();
            var e = logits.ToArray().Select(v => MathF.Exp(v - max)).ToArray();
            float sum = e.Sum();
            int digit = Array.IndexOf(e, e.Max());
            result[n] = (digit, e[digit] / sum);
        }
        return result;
    }

    private static (int Digit, float Probability)[] Parse(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Select(f => (int.Parse(f[1], CultureInfo.InvariantCulture), float.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToArray();

    [Fact]
    public void Native_binary_predicts_like_the_jit_build_on_idx_digits()
    {
        string digits = Path.Combine(Mnist.BundledDirectory, "t10k-images-idx3-ubyte.gz");
        var (code, stdout, stderr) = Run(digits, "--weights", _published.Weights, "--count", "25");
        Assert.True(code == 0, stderr);
        var native = Parse(stdout);
        var jit = Jit(Idx.ReadImages(digits, 25).Pixels, 25);
        Assert.Equal(25, native.Length);
        for (int i = 0; i < jit.Length; i++)
        {
            Assert.Equal(jit[i].Digit, native[i].Digit);
            Assert.True(Math.Abs(jit[i].Probability - native[i].Probability) <= 1e-5, $"digit {i}: JIT {jit[i].Probability}, native {native[i].Probability}");
        }
        long size = new FileInfo(_published.Binary).Length;
        output.WriteLine($"netgen-lenet5: {size:N0} bytes; predictions: {string.Join(" ", native.Select(p => p.Digit))}");
        Assert.True(size <= 8 * 1024 * 1024, $"the binary is {size:N0} bytes, above the 8 MB target");
    }

    [Fact]
    public void Native_binary_reads_a_png()
    {
        var pixels = Idx.ReadImages(Path.Combine(Mnist.BundledDirectory, "t10k-images-idx3-ubyte.gz"), 3).Pixels.AsSpan(2 * 784, 784).ToArray();
        string png = Path.Combine(_published.Directory, "digit.png");
        using (var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            var bytes = bitmap.GetPixelSpan();
            for (int i = 0; i < 784; i++) bytes[i] = (byte)MathF.Round(pixels[i] * 255f);
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(png, data.ToArray());
        }
        var (code, stdout, stderr) = Run(png, "--weights", _published.Weights);
        Assert.True(code == 0, stderr);
        var native = Assert.Single(Parse(stdout));
        var jit = Jit(pixels, 1)[0];
        Assert.Equal(jit.Digit, native.Digit);
        Assert.True(Math.Abs(jit.Probability - native.Probability) <= 1e-5, $"JIT {jit.Probability}, native {native.Probability}");
    }

    [Fact]
    public void Bad_input_gives_a_clear_error_and_exit_code()
    {
        var (code, _, stderr) = Run();
        Assert.Equal(2, code);
        Assert.Contains("usage: netgen-lenet5", stderr);

        string digits = Path.Combine(Mnist.BundledDirectory, "t10k-images-idx3-ubyte.gz");
        (code, _, stderr) = Run(digits, "--weights", Path.Combine(_published.Directory, "missing.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("missing.safetensors", stderr);

        string garbage = Path.Combine(_published.Directory, "garbage.bin");
        File.WriteAllText(garbage, "not an image");
        (code, _, stderr) = Run(garbage, "--weights", _published.Weights);
        Assert.Equal(1, code);
        Assert.Contains("garbage.bin", stderr);
    }
}
