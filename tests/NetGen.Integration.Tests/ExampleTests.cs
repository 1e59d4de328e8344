using System;
using System.Diagnostics;
using System.IO;
using NetGen.Examples.LeNet5;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>Runs the README's main job (examples/LeNet5) as a process, shortened to one epoch.</summary>
public class ExampleTests
{
    private static (int ExitCode, string Output) RunExample(params string[] args)
    {
        // The example is a project reference, so its assembly and runtime config sit next to ours.
        string dll = Path.Combine(AppContext.BaseDirectory, "LeNet5.dll");
        Assert.True(File.Exists(dll), "missing " + dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the example did not finish in 120 s");
        return (process.ExitCode, stdout + stderr.Result);
    }

    [Fact]
    public void LeNet5_example_trains_reports_and_saves_a_loadable_checkpoint()
    {
        string path = Path.Combine(Path.GetTempPath(), "netgen-example-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            var (code, output) = RunExample("--epochs", "1", "--batch", "64", "--out", path);
            Assert.True(code == 0, output);
            Assert.Contains("Total parameters: 61,706", output);
            Assert.Matches(@"epoch 1/1  step 125/125  loss \d+\.\d+  [\d,]+ samples/s  [\d.]+ s  test accuracy \d+\.\d+ %", output);
            Assert.True(File.Exists(path), output);
            var net = new LeNet5();
            net.Load(path);
            Assert.Equal(LeNet5.ParameterSchema.Count, Safetensors.ReadHeader(path).Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LeNet5_example_rejects_bad_options_with_usage()
    {
        var (code, output) = RunExample("--epochs", "zero");
        Assert.Equal(2, code);
        Assert.Contains("usage:", output);
        var (missing, message) = RunExample("--train-images", "/definitely/missing-images.gz", "--train-labels", "/definitely/missing-labels.gz");
        Assert.Equal(1, missing);
        Assert.Contains("/definitely/missing-", message);
    }
}
