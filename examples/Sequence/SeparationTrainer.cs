using System;
using System.Collections.Generic;
using NetGen.Examples.Sequence.Audio;

namespace NetGen.Examples.Sequence;

/// <summary>Hyperparameters and data sizes of the separation run.</summary>
public sealed record SeparationConfig
{
    public ulong Seed { get; init; } = 1;
    public int Epochs { get; init; } = 30;
    public int TrainClips { get; init; } = 1000;
    public int ValidationClips { get; init; } = 50;
    public int TestClips { get; init; } = 200;
    public int BatchSize { get; init; } = 16;
    public Backend Backend { get; init; } = Backend.Cpu;
    public float LearningRate { get; init; } = 2e-3f;
    /// <summary>Voice-to-accompaniment ratio range of the mixtures, dB.</summary>
    public double MinRatioDb { get; init; } = -5;
    public double MaxRatioDb { get; init; } = 5;
    /// <summary>Seed of the held-out test mixtures: fixed, so that every training seed is scored on the same 200 clips.</summary>
    public ulong TestSeed { get; init; } = 20_250_601;
}

/// <summary>
/// A clip with its spectra: the network's input features and the magnitudes the loss compares, and for held-out clips
/// the waveforms and the mixture's complex spectrum (needed to resynthesize and score; training examples drop them to
/// save memory).
/// </summary>
public sealed class SeparationExample
{
    private readonly Clip? _clip;
    private readonly Spectrum? _mixture;

    public Clip Clip { get => _clip ?? throw NoAudio(); init => _clip = value; }
    public Spectrum Mixture { get => _mixture ?? throw NoAudio(); init => _mixture = value; }
    public bool HasAudio => _clip is not null;
    private static InvalidOperationException NoAudio() => new("This example was prepared without its audio (keepAudio: false); only features and magnitudes are kept.");
    /// <summary>Network input, [frames x bins]: 0.5 ln(|Z| + 0.01) + 1 (a log spectrogram, roughly in [-1.3, 2]).</summary>
    public required float[] Features { get; init; }
    public required float[] MixtureMagnitude { get; init; }
    public required float[] VoiceMagnitude { get; init; }
    public required float[] AccompanimentMagnitude { get; init; }
}

/// <summary>The separated sources of one clip.</summary>
public sealed record Separation(float[] Voice, float[] Accompaniment, float[] VoiceMagnitude, float[] AccompanimentMagnitude, float[] VoiceMask)
{
    public double VoiceSdr(Clip clip) => Sdr.Compute(clip.Voice, Voice);
    public double VoiceImprovement(Clip clip) => Sdr.Improvement(clip.Voice, Voice, clip.Mixture);
    public double AccompanimentImprovement(Clip clip) => Sdr.Improvement(clip.Accompaniment, Accompaniment, clip.Mixture);
}

/// <summary>Mean SDRs over a set of clips, dB.</summary>
public readonly record struct SeparationScore(double VoiceImprovement, double AccompanimentImprovement, double MixtureVoiceSdr, double VoiceSdr, int Clips);

/// <summary>
/// Trains <see cref="SeparationNet"/> with the masking layer of <see cref="TimeFrequencyMask"/> and Adam, and separates clips:
/// mask the mixture's magnitudes, keep the mixture's phase, inverse STFT by overlap-add.
/// </summary>
public sealed class SeparationTrainer
{
    public const int WindowSize = 256, Hop = 128;
    public const int Frames = Synth.Samples / Hop + 1;   // 65
    public const int Bins = WindowSize / 2 + 1;          // 129
    public const int OutputWidth = 2 * Bins;

    public static readonly Stft Stft = new(WindowSize, Hop);

    private readonly SeparationConfig _config;
    private readonly float[] _input, _mixture, _voice, _accompaniment, _outputGradient;
    private readonly int[] _order;
    private Rng _shuffle;

    public SeparationTrainer(SeparationConfig config, IReadOnlyList<SeparationExample> train)
    {
        if (SeparationNet.InputSize != Frames * Bins || SeparationNet.OutputSize != Frames * OutputWidth)
            throw new InvalidOperationException("SeparationNet's shape does not match the STFT geometry.");
        _config = config;
        Train = train;
        Net = new SeparationNet(new NetworkOptions { Capacity = config.BatchSize, Seed = config.Seed, Backend = config.Backend });
        Optimizer = new Adam(config.LearningRate);
        int b = config.BatchSize;
        _input = new float[b * Frames * Bins];
        _mixture = new float[b * Frames * Bins];
        _voice = new float[b * Frames * Bins];
        _accompaniment = new float[b * Frames * Bins];
        _outputGradient = new float[b * Frames * OutputWidth];
        _order = new int[train.Count];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _shuffle = new Rng(config.Seed ^ 0x5EED_5EED_5EEDUL);
    }

    public SeparationNet Net { get; }
    public Adam Optimizer { get; }
    public IReadOnlyList<SeparationExample> Train { get; }

    /// <summary>Clips drawn from <paramref name="seed"/>, with their spectra (and their audio when <paramref name="keepAudio"/>).</summary>
    public static SeparationExample[] MakeSet(ulong seed, int count, SeparationConfig config, bool keepAudio = true)
    {
        var rng = new Rng(seed);
        var set = new SeparationExample[count];
        for (int i = 0; i < count; i++) set[i] = Prepare(Synth.Mixture(ref rng, config.MinRatioDb, config.MaxRatioDb), keepAudio);
        return set;
    }

    public static SeparationExample Prepare(Clip clip, bool keepAudio = true)
    {
        var mixture = Stft.Forward(clip.Mixture);
        var magnitude = mixture.Magnitude();
        var features = new float[magnitude.Length];
        for (int i = 0; i < features.Length; i++) features[i] = 0.5f * MathF.Log(magnitude[i] + 0.01f) + 1f;
        return new SeparationExample
        {
            Clip = keepAudio ? clip : null!,
            Mixture = keepAudio ? mixture : null!,
            Features = features,
            MixtureMagnitude = magnitude,
            VoiceMagnitude = Stft.Forward(clip.Voice).Magnitude(),
            AccompanimentMagnitude = Stft.Forward(clip.Accompaniment).Magnitude(),
        };
    }

    /// <summary>One pass over the training clips in a fresh random order; returns the mean loss. <paramref name="progress"/>(batches done, of, loss so far).</summary>
    public double TrainEpoch(Action<int, int, double>? progress = null)
    {
        _shuffle.Shuffle(_order);
        int b = _config.BatchSize, batches = _order.Length / b, size = Frames * Bins;
        double total = 0;
        for (int batch = 0; batch < batches; batch++)
        {
            for (int j = 0; j < b; j++)
            {
                var e = Train[_order[batch * b + j]];
                e.Features.CopyTo(_input, j * size);
                e.MixtureMagnitude.CopyTo(_mixture, j * size);
                e.VoiceMagnitude.CopyTo(_voice, j * size);
                e.AccompanimentMagnitude.CopyTo(_accompaniment, j * size);
            }
            Net.ZeroGradients();
            var output = Net.Forward(_input, b, training: true);
            total += TimeFrequencyMask.Loss(output, _mixture, _voice, _accompaniment, b * Frames, Bins, _outputGradient);
            Net.Backward(_outputGradient, inputGradient: false);
            Optimizer.Step(Net.Parameters, Net.Gradients);
            progress?.Invoke(batch + 1, batches, total / (batch + 1));
        }
        return total / Math.Max(1, batches);
    }

    /// <summary>Separates clips in batches of the network's capacity.</summary>
    public static Separation[] Separate(SeparationNet net, IReadOnlyList<SeparationExample> set, int capacity)
    {
        var result = new Separation[set.Count];
        int size = Frames * Bins;
        var input = new float[capacity * size];
        for (int start = 0; start < set.Count; start += capacity)
        {
            int count = Math.Min(capacity, set.Count - start);
            for (int j = 0; j < count; j++) set[start + j].Features.CopyTo(input, j * size);
            var output = net.Forward(input, count);
            for (int j = 0; j < count; j++)
                result[start + j] = FromOutput(set[start + j], output.Slice(j * Frames * OutputWidth, Frames * OutputWidth));
        }
        return result;
    }

    /// <summary>Applies the masking layer to one clip's network output and resynthesizes both sources with the mixture's phase.</summary>
    public static Separation FromOutput(SeparationExample e, ReadOnlySpan<float> raw)
    {
        int size = Frames * Bins;
        var voice = new float[size];
        var accompaniment = new float[size];
        var mask = new float[size];
        TimeFrequencyMask.Apply(raw, e.MixtureMagnitude, voice, accompaniment, Frames, Bins);
        TimeFrequencyMask.VoiceMask(raw, mask, Frames, Bins);
        return new Separation(
            Stft.Inverse(e.Mixture.WithMagnitude(voice), Synth.Samples),
            Stft.Inverse(e.Mixture.WithMagnitude(accompaniment), Synth.Samples),
            voice, accompaniment, mask);
    }

    /// <summary>
    /// The ideal ratio mask |Y1| / (|Y1| + |Y2|) computed from the true sources (an oracle, not a method): what the masking
    /// layer could reach with a perfect network, for reference.
    /// </summary>
    public static Separation Oracle(SeparationExample e)
    {
        var raw = new float[Frames * OutputWidth];
        for (int t = 0; t < Frames; t++)
            for (int k = 0; k < Bins; k++)
            {
                raw[t * OutputWidth + k] = e.VoiceMagnitude[t * Bins + k];
                raw[t * OutputWidth + Bins + k] = e.AccompanimentMagnitude[t * Bins + k];
            }
        return FromOutput(e, raw);
    }

    public static SeparationScore Score(IReadOnlyList<SeparationExample> set, IReadOnlyList<Separation> separations)
    {
        double voice = 0, accompaniment = 0, input = 0, output = 0;
        for (int i = 0; i < set.Count; i++)
        {
            var clip = set[i].Clip;
            double mixtureSdr = Sdr.Compute(clip.Voice, clip.Mixture), voiceSdr = separations[i].VoiceSdr(clip);
            input += mixtureSdr;
            output += voiceSdr;
            voice += voiceSdr - mixtureSdr;
            accompaniment += separations[i].AccompanimentImprovement(clip);
        }
        int n = Math.Max(1, set.Count);
        return new SeparationScore(voice / n, accompaniment / n, input / n, output / n, set.Count);
    }
}
