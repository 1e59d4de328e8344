using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace NetGen.Examples.Sequence;

/// <summary>The parsed command line: a command and its options. Parse reports errors on stderr and returns null (exit code 2).</summary>
public sealed class CommandLine
{
    public string Command { get; private set; } = "";
    public bool Help { get; private set; }
    public ulong Seed { get; private set; } = 1;
    public int? Epochs { get; private set; }
    public string? Output { get; private set; }
    public int? Train { get; private set; }
    public int? Test { get; private set; }
    public int? Validation { get; private set; }
    public int? Batch { get; private set; }
    public float? LearningRate { get; private set; }
    /// <summary>Test clips to write as PNG + WAV: --clips, or 3 (at most --test).</summary>
    public int Clips => _clips ?? Math.Min(3, Test ?? 200);
    private int? _clips;
    public int Length { get; private set; } = 50;
    /// <summary>Where the networks run: --backend cpu (default), cuda or auto (CUDA when it can, else the CPU).</summary>
    public Backend Backend { get; private set; } = Backend.Cpu;

    /// <summary>The output folder: --out, or artifacts/sequence/&lt;command&gt;.</summary>
    public string OutputFolder => Output ?? Path.Combine("artifacts", "sequence", Command);

    public const string Usage = """
        usage: dotnet run -c Release --project examples/Sequence -- <command> [options]

        commands:
          separate   monaural source separation (Huang et al.): an LSTM predicts two soft time-frequency masks that split
                     synthetic mixtures of a sung voice and drums/noise; reports the voice's SDR improvement on 200
                     held-out mixtures and writes spectrogram PNGs and WAV files of a few test clips
          memory     temporal order: A before B within the first 10 of T noisy symbols, read out at step T; trains an LSTM and
                     a plain RNN of the same size, prints both test accuracies per epoch and plots the learning curves

        options (both commands):
          --seed N       seed of the weights, the training data and the batch order (default 1)
          --epochs N     training epochs (default: separate 30, memory 15)
          --out DIR      folder for the PNG, WAV and checkpoint files (default artifacts/sequence/<command>)
          --train N      training examples (default: separate 1000 mixtures, memory 10000 sequences)
          --test N       held-out test examples (default: separate 200, memory 2000)
          --batch N      mini-batch size (default: separate 16, memory 32)
          --lr X         Adam learning rate (default: separate 0.002, memory 0.001)
          --backend B    cpu, cuda or auto (CUDA when it can, else the CPU; default cpu); see docs/gpu.md
        separate only:
          --valid N      validation mixtures scored after every epoch (default 50)
          --clips N      test clips written as PNG + WAV (default 3, or --test if smaller)
        memory only:
          --length T     sequence length, 50 or 100 (default 50)
        """;

    private static readonly HashSet<string> SeparateOnly = new() { "--valid", "--clips" };
    private static readonly HashSet<string> MemoryOnly = new() { "--length" };

    public static CommandLine? Parse(string[] args, TextWriter error)
    {
        var o = new CommandLine();
        try
        {
            if (args.Length == 0) throw new FormatException("missing command: separate or memory");
            if (args[0] is "-h" or "--help" or "help")
            {
                o.Help = true;
                return o;
            }
            o.Command = args[0] switch
            {
                "separate" or "memory" => args[0],
                var other => throw new FormatException($"unknown command '{other}': use separate or memory"),
            };
            for (int i = 1; i < args.Length; i++)
            {
                string name = args[i];
                if (o.Command == "separate" && MemoryOnly.Contains(name)) throw new FormatException($"{name} is a memory option");
                if (o.Command == "memory" && SeparateOnly.Contains(name)) throw new FormatException($"{name} is a separate option");
                string Value() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : throw new FormatException($"{name} needs a value");
                switch (name)
                {
                    case "--seed": o.Seed = ParseULong(Value(), name); break;
                    case "--epochs": o.Epochs = Int(Value(), name, 1, 100_000); break;
                    case "--out": o.Output = Value() is { Length: > 0 } path ? path : throw new FormatException("--out needs a non-empty path"); break;
                    case "--train": o.Train = Int(Value(), name, 1, 10_000_000); break;
                    case "--test": o.Test = Int(Value(), name, 1, 10_000_000); break;
                    case "--valid": o.Validation = Int(Value(), name, 0, 100_000); break;
                    case "--batch": o.Batch = Int(Value(), name, 1, 4096); break;
                    case "--clips": o._clips = Int(Value(), name, 0, 1000); break;
                    case "--length":
                        o.Length = Int(Value(), name, 1, 100_000);
                        if (o.Length is not (50 or 100)) throw new FormatException($"--length must be 50 or 100 (the networks' compiled lengths), got {o.Length}");
                        break;
                    case "--lr":
                        string text = Value();
                        float lr = float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new FormatException($"--lr needs a number, got '{text}'");
                        o.LearningRate = lr > 0 && float.IsFinite(lr) && lr < 1 ? lr : throw new FormatException($"--lr must be a positive number below 1, got {text}");
                        break;
                    case "--backend": o.Backend = NetGen.Cuda.CudaBackend.Parse(Value(), name); break;
                    case "-h": case "--help": o.Help = true; return o;
                    default: throw new FormatException($"unknown option '{name}'");
                }
            }
            int batch = o.Batch ?? (o.Command == "separate" ? 16 : 32);
            if (o.Train is { } train && train < batch) throw new FormatException($"--train ({train}) must be at least the batch size ({batch})");
            if (o.Command == "separate" && o._clips > (o.Test ?? 200)) throw new FormatException($"--clips ({o._clips}) must be at most --test ({o.Test ?? 200})");
        }
        catch (FormatException e)
        {
            error.WriteLine("error: " + e.Message);
            error.WriteLine();
            error.WriteLine(Usage);
            return null;
        }
        return o;
    }

    private static int Int(string text, string name, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)) throw new FormatException($"{name} needs a whole number, got '{text}'");
        return value >= min && value <= max ? value : throw new FormatException($"{name} must be between {min} and {max}, got {value}");
    }

    private static ulong ParseULong(string text, string name) =>
        ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong value) ? value : throw new FormatException($"{name} needs a non-negative whole number, got '{text}'");
}
