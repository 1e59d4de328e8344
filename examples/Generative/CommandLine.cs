using System;
using System.Globalization;

namespace NetGen.Examples.Generative;

/// <summary>The parsed command line: a command and its options. <see cref="Parse"/> reports problems as <see cref="FormatException"/>s.</summary>
public sealed class CommandLine
{
    public const string Usage = """
        usage: dotnet run -c Release --project examples/Generative -- <command> [options]

        commands:
          vae         variational autoencoder 784-400-20-400-784 (or --latent 2), Adam 1e-3, batch 128
          gan         DCGAN generator and discriminator, BCE with logits, Adam 2e-4 betas (0.5, 0.999), batch 32
                      --conditional: both networks get the digit's one-hot label; draws one class per row
          pix2pix     U-Net generator + PatchGAN discriminator inpainting a random 10x10 block, L1 (lambda 100) + BCE

        options:
          --epochs N        passes over the training digits (default: vae 20, gan 10, pix2pix 5)
          --seed N          seed of the weights, data order and noise (default 1)
          --out DIR         folder for the PNGs and checkpoints (default generative-out)
          --batch N         mini-batch size (default: vae 128, gan 32, pix2pix 32)
          --lr X            Adam learning rate (default: vae 0.001, gan 0.0002, pix2pix 0.001)
          --train N         use only the first N of the 8,000 bundled training digits (quick runs)
          --test N          use only the first N of the 2,000 bundled test digits
          --latent 2|20     vae: latent dimensions (default 20; 2 also draws the latent manifold)
          --conditional     gan: class-conditional GAN
          --classifier F    gan --conditional: LeNet-5 checkpoint from examples/LeNet5 that labels 1,000 generated
                            digits (100 per class) after training (default: lenet5.safetensors if it exists)
          --lambda X        pix2pix: weight of the L1 term (default 100)
          --backend B       cpu, cuda or auto (CUDA when it can, else the CPU; default cpu); see docs/gpu.md
          -h, --help        this text
        """;

    public string Command { get; private set; } = "";
    public bool Help { get; private set; }
    public int? Epochs { get; private set; }
    public ulong Seed { get; private set; } = 1;
    public string Output { get; private set; } = "generative-out";
    public int? Batch { get; private set; }
    public float? LearningRate { get; private set; }
    public int? TrainCount { get; private set; }
    public int? TestCount { get; private set; }
    public int Latent { get; private set; } = 20;
    public bool Conditional { get; private set; }
    public string? Classifier { get; private set; }
    public float Lambda { get; private set; } = 100f;
    public Backend Backend { get; private set; } = Backend.Cpu;

    public static CommandLine Parse(string[] args)
    {
        var o = new CommandLine();
        if (args.Length == 0) throw new FormatException("missing command (vae, gan or pix2pix)");
        if (args[0] is "-h" or "--help") { o.Help = true; return o; }
        o.Command = args[0] switch
        {
            "vae" or "gan" or "pix2pix" => args[0],
            var other => throw new FormatException($"unknown command '{other}' (expected vae, gan or pix2pix)"),
        };
        bool latentGiven = false, conditionalGiven = false, lambdaGiven = false, classifierGiven = false;
        for (int i = 1; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : throw new FormatException($"{name} needs a value");
            switch (name)
            {
                case "--epochs": o.Epochs = Int(Value(), name, 1, 100_000); break;
                case "--seed":
                    string seed = Value();
                    o.Seed = ulong.TryParse(seed, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong s) ? s : throw new FormatException($"--seed needs a non-negative whole number, got '{seed}'");
                    break;
                case "--out":
                    o.Output = Value();
                    if (string.IsNullOrWhiteSpace(o.Output)) throw new FormatException("--out needs a folder");
                    break;
                case "--batch": o.Batch = Int(Value(), name, 1, 4096); break;
                case "--lr": o.LearningRate = (float)Positive(Value(), name); break;
                case "--train": o.TrainCount = Int(Value(), name, 1, int.MaxValue); break;
                case "--test": o.TestCount = Int(Value(), name, 1, int.MaxValue); break;
                case "--latent":
                    o.Latent = Int(Value(), name, 1, 1000) is var latent && (latent == 2 || latent == 20) ? latent : throw new FormatException($"--latent must be 2 or 20, got {args[i]}");
                    latentGiven = true;
                    break;
                case "--conditional": o.Conditional = true; conditionalGiven = true; break;
                case "--classifier":
                    o.Classifier = Value();
                    classifierGiven = true;
                    break;
                case "--lambda":
                    o.Lambda = (float)NonNegative(Value(), name);
                    lambdaGiven = true;
                    break;
                case "--backend": o.Backend = NetGen.Cuda.CudaBackend.Parse(Value(), name); break;
                case "-h": case "--help": o.Help = true; break;
                default: throw new FormatException($"unknown option '{name}'");
            }
        }
        if (latentGiven && o.Command != "vae") throw new FormatException("--latent applies to vae only");
        if (conditionalGiven && o.Command != "gan") throw new FormatException("--conditional applies to gan only");
        if (lambdaGiven && o.Command != "pix2pix") throw new FormatException("--lambda applies to pix2pix only");
        if (classifierGiven && !o.Conditional) throw new FormatException("--classifier applies to gan --conditional only");
        return o;
    }

    private static int Int(string text, string name, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)) throw new FormatException($"{name} needs a whole number, got '{text}'");
        if (value < min || value > max) throw new FormatException($"{name} must be between {min} and {max}, got {value}");
        return value;
    }

    private static double Positive(string text, string name)
    {
        double value = NonNegative(text, name);
        return value > 0 ? value : throw new FormatException($"{name} must be positive, got {text}");
    }

    private static double NonNegative(string text, string name)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new FormatException($"{name} needs a number, got '{text}'");
        return value >= 0 ? value : throw new FormatException($"{name} must not be negative, got {text}");
    }
}
