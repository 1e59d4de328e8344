using System;
using System.Collections.Generic;
using System.Globalization;
using NetGen;

namespace NetGen.Runtime.Tests;

/// <summary>
/// Entry point of the test assembly, used only as a child process by <see cref="SafetensorsKillTests"/>:
/// <c>dotnet exec NetGen.Runtime.Tests.dll safetensors-save-child PATH FLOATS</c> saves a checkpoint of FLOATS
/// values to PATH through <see cref="Safetensors.Save"/>, so the parent can kill it half way.
/// The test SDK's generated (empty) entry point is disabled in the csproj (GenerateProgramFile=false); the test
/// host never calls Main, and without arguments this does nothing, like the generated one.
/// </summary>
internal static class TestAssemblyProgram
{
    public const string SaveChildVerb = "safetensors-save-child";

    public static int Main(string[] args)
    {
        if (args.Length == 0) return 0;
        if (args.Length != 3 || args[0] != SaveChildVerb)
        {
            Console.Error.WriteLine($"usage: {SaveChildVerb} PATH FLOATS");
            return 2;
        }
        string path = args[1];
        int floats = int.Parse(args[2], NumberStyles.Integer, CultureInfo.InvariantCulture);
        ParameterInfo[] schema = SaveChildSchema(floats);
        float[] values = GC.AllocateUninitializedArray<float>(floats);
        for (int i = 0; i < values.Length; i++) values[i] = (i % 1000) * 0.001f;
        Console.Out.WriteLine("saving");
        Console.Out.Flush();
        Safetensors.Save(path, schema, values, new Dictionary<string, string> { ["writer"] = "save-child" });
        Console.Out.WriteLine("saved");
        Console.Out.Flush();
        return 0;
    }

    /// <summary>Two tensors totalling <paramref name="floats"/> values (a multiple of 1024).</summary>
    public static ParameterInfo[] SaveChildSchema(int floats) => new[]
    {
        new ParameterInfo("big.weight", new[] { floats / 1024 - 1, 1024 }, 0),
        new ParameterInfo("big.bias", new[] { 1024 }, floats - 1024),
    };
}
