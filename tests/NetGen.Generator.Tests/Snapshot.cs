using System;
using System.IO;
using System.Runtime.CompilerServices;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// A small snapshot helper (Verify is not available here). Compares text with
/// Snapshots/NAME.verified.cs next to the test sources; on mismatch writes NAME.received.cs and fails.
/// Set NETGEN_ACCEPT_SNAPSHOTS=1 to accept the received output as the new verified file.
/// </summary>
internal static class Snapshot
{
    public static void Match(string actual, string name, [CallerFilePath] string callerPath = "")
    {
        string directory = Path.Combine(Path.GetDirectoryName(callerPath)!, "Snapshots");
        string verified = Path.Combine(directory, name + ".verified.cs");
        string received = Path.Combine(directory, name + ".received.cs");
        actual = actual.Replace("\r\n", "\n");
        bool accept = Environment.GetEnvironmentVariable("NETGEN_ACCEPT_SNAPSHOTS") == "1";
        string? expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : null;
        if (expected == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        if (accept)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(verified, actual);
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        Directory.CreateDirectory(directory);
        File.WriteAllText(received, actual);
        Assert.Fail(expected is null
            ? $"No snapshot {verified} yet. Review {received} and accept it with NETGEN_ACCEPT_SNAPSHOTS=1."
            : $"Generated code differs from {verified}. Compare with {received} (diff -u); accept with NETGEN_ACCEPT_SNAPSHOTS=1 if the change is intended. First difference at line {FirstDifference(expected, actual)}.");
    }

    private static int FirstDifference(string a, string b)
    {
        var x = a.Split('\n');
        var y = b.Split('\n');
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
            if (x[i] != y[i]) return i + 1;
        return Math.Min(x.Length, y.Length) + 1;
    }
}
