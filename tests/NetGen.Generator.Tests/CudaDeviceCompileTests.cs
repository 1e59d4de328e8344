using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generator.Emit;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>
/// The generated CUDA C compiled as device code, the way NVRTC compiles it on a GPU machine: clang in CUDA mode for
/// nvptx64 (no GPU needed), with nothing but what NVRTC declares without headers (tests/FakeCuda/nvrtc_builtins.h).
/// <see cref="CudaKernelTests"/> compiles the same source with g++ for the CPU, behind a shim that defines
/// <c>__device__</c> away and includes math.h; that catches what a kernel computes, not what only CUDA rejects: a
/// kernel calling a host function, a C library macro (INFINITY, FLT_MAX) NVRTC does not know, a helper defined after
/// its first use, a kernel name C++ mangles. The PTX shows the names the driver will look kernels up by.
/// </summary>
public sealed class CudaDeviceCompileTests
{
    private readonly ITestOutputHelper _output;

    public CudaDeviceCompileTests(ITestOutputHelper output) => _output = output;

    /// <summary>Every network the repository declares: the CUDA source each would hand NVRTC is compiled.</summary>
    public static readonly TheoryData<string> Networks = new()
    {
        "LeNet5.cs", "TinyDag.cs", "AlexNet.cs", "Vgg16.cs", "GoogLeNet.cs", "ResNet18.cs", "ResNet50.cs",
        "Generative.cs", "Sequence.cs", "QNetwork.cs",
    };

    [SkippableFact]
    public void The_kernel_catalogue_compiles_as_device_code_with_only_what_NVRTC_declares()
    {
        string clang = Clang;
        string source = CudaKernels.Source("AllKernels", CudaKernels.All);
        string ptx = CompileForDevice(clang, source, "catalogue");
        var kernels = CudaKernels.All.Where(k => !CudaKernels.IsHelper(k)).ToArray();
        Assert.Equal(kernels.OrderBy(k => k, StringComparer.Ordinal), Entries(ptx).OrderBy(k => k, StringComparer.Ordinal));
    }

    [SkippableTheory]
    [MemberData(nameof(Networks))]
    public void Each_network_kernel_source_compiles_as_device_code_and_exports_every_kernel_it_launches(string file)
    {
        string clang = Clang; // skips before the generator runs
        var run = GeneratorHarness.Run(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Networks", file)));
        var cudaTrees = run.Run.GeneratedTrees.Where(t => t.FilePath.EndsWith(".Cuda.g.cs", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(cudaTrees);
        foreach (var tree in cudaTrees)
        {
            string network = Path.GetFileName(tree.FilePath);
            var literal = tree.GetRoot().DescendantNodes().OfType<VariableDeclaratorSyntax>()
                .Single(v => v.Identifier.Text == "CudaKernelSource").Initializer!.Value;
            string source = ((LiteralExpressionSyntax)literal).Token.ValueText;
            var entries = Entries(CompileForDevice(clang, source, network)).ToHashSet(StringComparer.Ordinal);

            // Every kernel defined is exported unmangled, and every kernel the host code names is among them.
            var defined = Regex.Matches(source, @"__global__ void (\w+)\(").Select(m => m.Groups[1].Value).ToArray();
            Assert.Equal(defined.ToHashSet(StringComparer.Ordinal), entries);
            string host = tree.GetText().ToString().Remove(literal.SpanStart, literal.Span.Length);
            var launched = Regex.Matches(host, @"""(netgen_\w+)""").Select(m => m.Groups[1].Value).Distinct().ToArray();
            Assert.NotEmpty(launched);
            Assert.Subset(entries, launched.ToHashSet(StringComparer.Ordinal));
            _output.WriteLine($"{network}: {entries.Count} kernels compiled for nvptx64; the host code launches {launched.Length} of them by name");
        }
    }

    /// <summary>The PTX kernels (<c>.entry</c>) by name.</summary>
    private static IEnumerable<string> Entries(string ptx) =>
        Regex.Matches(ptx, @"\.entry\s+(\w+)\(").Select(m => m.Groups[1].Value);

    /// <summary>tests/FakeCuda/compile-device.sh (which holds the options and why) on <paramref name="source"/>; the PTX.</summary>
    private static string CompileForDevice(string clang, string source, string name)
    {
        string directory = Path.Combine(Path.GetTempPath(), "netgen-cuda-device-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string input = Path.Combine(directory, "kernels.cu"), output = Path.Combine(directory, "kernels.ptx");
            File.WriteAllText(input, source);
            var (exit, errors) = Run("bash", Script("compile-device.sh"), clang, input, output);
            if (exit != 0)
                throw new Xunit.Sdk.XunitException($"{name}: the CUDA C does not compile as device code with only NVRTC's built-in declarations:\n{errors}");
            return File.ReadAllText(output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "FakeCuda", name);

    /// <summary>The clang to compile with, or the test is skipped and says why.</summary>
    private static string Clang => s_clang.Value.Path ?? throw new SkipException(s_clang.Value.Reason);

    private static (int Exit, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + errors.Result);
    }

    private static readonly Lazy<(string? Path, string Reason)> s_clang = new(FindClang);

    /// <summary>
    /// The clang tests/FakeCuda/find-clang.sh picks (NETGEN_CLANG, else clang or the newest clang-NN on PATH, with the
    /// NVPTX target), as the fake device's NVRTC does; without one the tests are skipped and say why.
    /// </summary>
    private static (string? Path, string Reason) FindClang()
    {
        const string missing = "skipped: no clang with the NVPTX target (set NETGEN_CLANG, or install clang) to compile the generated CUDA C as device code";
        try
        {
            var (exit, output) = Run("bash", Script("find-clang.sh"));
            string path = output.Trim();
            return exit == 0 && File.Exists(path) ? (path, "") : (null, missing);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, missing + " (no bash to run tests/FakeCuda/find-clang.sh)");
        }
    }
}
