using System;
using System.IO;

namespace NetGen.Generator.Tests;

/// <summary>
/// Real network declarations used by several generator tests: the LeNet-5 of examples/LeNet5 and
/// the DAG whose gradients the integration tests check, read from those projects' source files
/// (copied next to this assembly), so the snapshots are of the code users and tests actually run.
/// </summary>
internal static class Sources
{
    public static string LeNet5 { get; } = Read("LeNet5.cs");

    /// <summary>A small DAG: helper blocks in a constant loop, residual adds, a shared layer, two inputs.</summary>
    public static string TinyDag { get; } = Read("TinyDag.cs");

    /// <summary>The zoo of examples/Zoo: torchvision's architectures with their state_dict names.</summary>
    public static string AlexNet { get; } = Read("AlexNet.cs");
    public static string Vgg16 { get; } = Read("Vgg16.cs");
    public static string GoogLeNet { get; } = Read("GoogLeNet.cs");
    public static string ResNet18 { get; } = Read("ResNet18.cs");
    public static string ResNet50 { get; } = Read("ResNet50.cs");

    private static string Read(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Networks", name)).Replace("\r\n", "\n");
}
