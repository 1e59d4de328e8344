using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Integration.Tests;

/// <summary>
/// `dotnet pack src/Runtime` makes the NetGen package; a consumer project outside the solution, restoring from a
/// local folder feed into an empty package cache, declares a network, trains, saves and reloads it using only
/// the package (runtime, attributes and the generator as an analyzer).
/// </summary>
[Trait("Category", "Process")]
public class PackageTests(ITestOutputHelper output)
{
    private static (int ExitCode, string Output) Run(string workingDirectory, string packages, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NUGET_PACKAGES"] = packages;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(600_000)) process.Kill(entireProcessTree: true);
        return (process.HasExited ? process.ExitCode : -1, stdout + stderr.Result);
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var directory in Directory.GetDirectories(from))
        {
            string name = Path.GetFileName(directory);
            if (name is "bin" or "obj") continue;
            CopySources(directory, Path.Combine(to, name));
        }
    }

    [Fact]
    public void Packed_package_builds_and_trains_a_consumer_outside_the_solution()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "NetGen.sln"))) root = Path.GetDirectoryName(root)!;
        string work = Path.Combine(Path.GetTempPath(), "netgen-package-" + Guid.NewGuid().ToString("N"));
        string feed = Path.Combine(work, "feed"), packages = Path.Combine(work, "packages"), consumer = Path.Combine(work, "consumer");
        Directory.CreateDirectory(consumer);
        try
        {
            // Pack a copy of the sources, so nothing this test builds touches the folders other tests run from.
            string copy = Path.Combine(work, "repo");
            foreach (var project in new[] { "Attributes", "Generator", "Runtime" })
                CopySources(Path.Combine(root, "src", project), Path.Combine(copy, "src", project));
            File.Copy(Path.Combine(root, "Directory.Build.props"), Path.Combine(copy, "Directory.Build.props"));
            File.Copy(Path.Combine(root, "README.md"), Path.Combine(copy, "README.md"));
            const string version = "0.1.0";
            var (code, log) = Run(copy, packages, "pack", Path.Combine(copy, "src", "Runtime"), "-c", "Release", "-o", feed, "-nologo");
            Assert.True(code == 0, "dotnet pack failed:\n" + log);
            string package = Path.Combine(feed, "NetGen." + version + ".nupkg");
            Assert.True(File.Exists(package), log);
            using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToArray();
                Assert.Contains("lib/net10.0/NetGen.Runtime.dll", entries);
                Assert.Contains("lib/net10.0/NetGen.Attributes.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/NetGen.Generator.dll", entries);
                Assert.Contains("README.md", entries);
            }
            Assert.True(File.Exists(Path.Combine(feed, "NetGen." + version + ".snupkg")), "no symbol package");

            File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="NetGen" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
                using System;
                using NetGen;
                using static NetGen.Layers;

                var net = new Tiny(new NetworkOptions { Capacity = 4, Seed = 2 });
                var x = new float[] { 0, 0, 0, 1, 1, 0, 1, 1 };
                var y = new int[] { 0, 1, 1, 0 };
                var optimizer = new Sgd(0.5f, momentum: 0.9f);
                float first = net.TrainStep(x, y, 4, Loss.SoftmaxCrossEntropy, optimizer), last = first;
                for (int i = 0; i < 20; i++) last = net.TrainStep(x, y, 4, Loss.SoftmaxCrossEntropy, optimizer);
                net.Save("tiny.safetensors");
                var copy = new Tiny(new NetworkOptions { Capacity = 4, Seed = 9 });
                copy.Load("tiny.safetensors");
                bool same = net.Forward(x, 4).SequenceEqual(copy.Forward(x, 4));
                Console.WriteLine($"params {Tiny.ParameterCount} loss {first:F4} -> {last:F4} reload {(same ? "identical" : "DIFFERENT")}");
                return same && last < first ? 0 : 1;

                [Network]
                partial class Tiny
                {
                    Tensor Forward([Shape(2)] Tensor x) => Dense(Tanh(Dense(x, 8)), 2);
                }
                """);
            (code, log) = Run(consumer, packages, "run", "-c", "Release");
            output.WriteLine(log);
            Assert.True(code == 0, "the consumer failed:\n" + log);
            Assert.Contains("params 42", log);
            Assert.Contains("reload identical", log);
            Assert.True(Directory.Exists(Path.Combine(packages, "netgen", version)), "the consumer did not restore NetGen from the local feed");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
