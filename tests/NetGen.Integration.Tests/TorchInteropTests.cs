using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using NetGen.Examples.Zoo;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Integration.Tests;

/// <summary>
/// PyTorch interop: a torchvision ResNet-18 state_dict, written as safetensors exactly as
/// <c>safetensors.torch.save_file(model.state_dict(), path)</c> does (state_dict order, int64
/// <c>num_batches_tracked</c> counters included), loads into examples/Zoo's ResNet18 and gives the logits
/// torchvision 0.14 computed (Data/resnet18-torchvision-reference.txt, made by
/// scripts/torchvision-resnet18-reference.py from the same formula weights).
/// </summary>
public class TorchInteropTests(ITestOutputHelper output)
{
    private static string ReferencePath => Path.Combine(AppContext.BaseDirectory, "Data", "resnet18-torchvision-reference.txt");

    /// <summary>The formula of the reference script, in the same double-then-float order.</summary>
    private static float[] Fill(string name, int[] shape)
    {
        int count = shape.Aggregate(1, (a, b) => a * b);
        int t = name.Select((c, j) => (j + 1) * (int)c).Sum() % 997;
        var values = new float[count];
        double scale = name.EndsWith(".weight", StringComparison.Ordinal) && shape.Length > 1 ? Math.Sqrt(1.0 / (count / shape[0])) : 0;
        for (int i = 0; i < count; i++)
        {
            float u = (float)Math.Sin(0.37 * i + 1.3 * t);
            values[i] = name switch
            {
                _ when name.EndsWith("running_var", StringComparison.Ordinal) => 1 + 0.3f * u,
                _ when name.EndsWith("running_mean", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal) => 0.1f * u,
                _ when shape.Length == 1 => 1 + 0.2f * u,
                _ => (float)scale * u,
            };
        }
        return values;
    }

    private static void WriteLikeSaveFile(string path, List<(string Name, string Dtype, int[] Shape)> tensors)
    {
        var header = new StringBuilder("{");
        var data = new MemoryStream();
        Span<byte> bytes = stackalloc byte[8];
        foreach (var (name, dtype, shape) in tensors)
        {
            long begin = data.Length;
            if (dtype == "I64")
            {
                BinaryPrimitives.WriteInt64LittleEndian(bytes, 7);
                data.Write(bytes);
            }
            else
            {
                foreach (float v in Fill(name, shape))
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes, v);
                    data.Write(bytes[..4]);
                }
            }
            if (header.Length > 1) header.Append(',');
            header.Append(CultureInfo.InvariantCulture, $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{data.Length}]}}");
        }
        header.Append('}');
        while (header.Length % 8 != 0) header.Append(' ');
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        file.Write(Encoding.UTF8.GetBytes(header.ToString()));
        data.Position = 0;
        data.CopyTo(file);
    }

    [Fact]
    public void Torchvision_resnet18_state_dict_loads_and_gives_torchvisions_logits()
    {
        var lines = File.ReadAllLines(ReferencePath);
        var tensors = lines.Where(l => l.StartsWith("tensor ", StringComparison.Ordinal)).Select(l => l.Split(' '))
            .Select(f => (f[1], f[2], f.Length > 3 && f[3].Length > 0 ? f[3].Split(',').Select(int.Parse).ToArray() : Array.Empty<int>())).ToList();
        var expected = lines.Where(l => l.StartsWith("logit ", StringComparison.Ordinal)).Select(l => double.Parse(l.Substring(6), CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(1000, expected.Length);
        Assert.Equal(122, tensors.Count); // 62 parameters, 40 running statistics, 20 num_batches_tracked

        string path = Path.Combine(Path.GetTempPath(), "netgen-torchvision-resnet18-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            WriteLikeSaveFile(path, tensors);
            var net = new ResNet18(new NetworkOptions { Capacity = 1, Seed = 99 });
            net.Load(path);

            var image = new float[ResNet18.InputSize];
            for (int i = 0; i < image.Length; i++) image[i] = (float)Math.Sin(0.001 * i);
            var logits = net.Forward(image, 1).ToArray();
            double worst = 0, scale = expected.Max(Math.Abs);
            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs(logits[i] - expected[i]) / scale;
                worst = Math.Max(worst, error);
                Assert.True(error <= 1e-4, $"logit {i}: NetGen {logits[i]}, torchvision {expected[i]} (relative to the largest logit: {error:E2})");
            }
            Assert.Equal(Array.IndexOf(expected, expected.Max()), Array.IndexOf(logits, logits.Max()));
            output.WriteLine($"largest difference from torchvision, relative to the largest logit ({scale:F4}): {worst:E2}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
