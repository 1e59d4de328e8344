using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using NetGen.Examples.Sequence.Audio;
using NetGen.Examples.Sequence.Charts;
using SkiaSharp;

namespace NetGen.Examples.Sequence;

/// <summary>The <c>separate</c> command: data, training with per-epoch validation, the test score, PNG and WAV files.</summary>
public static class SeparateCommand
{
    /// <summary>The brief's target: average SDR improvement of the estimated voice on the held-out mixtures.</summary>
    public const double TargetDb = 6;

    public static int Run(CommandLine options)
    {
        var config = new SeparationConfig
        {
            Seed = options.Seed,
            Epochs = options.Epochs ?? 30,
            TrainClips = options.Train ?? 1000,
            TestClips = options.Test ?? 200,
            ValidationClips = options.Validation ?? 50,
            BatchSize = options.Batch ?? 16,
            Backend = options.Backend,
            LearningRate = options.LearningRate ?? 2e-3f,
        };
        string folder = options.OutputFolder;
        var progress = new Progress();
        progress.Line($"separate: voice vs drums/noise at {Synth.SampleRate} Hz, {Synth.Samples} samples per clip ({(double)Synth.Samples / Synth.SampleRate:0.###} s), " +
            $"voice-to-accompaniment ratio {F(config.MinRatioDb)} to {F(config.MaxRatioDb)} dB");
        progress.Line($"STFT: {SeparationTrainer.WindowSize}-point periodic Hann, hop {SeparationTrainer.Hop} -> {SeparationTrainer.Frames} frames x {SeparationTrainer.Bins} bins; " +
            $"network: LSTM 2 x 128 -> per-frame Dense {SeparationTrainer.OutputWidth} -> sigmoid -> masking layer ({SeparationNet.ParameterCount:N0} parameters)");
        progress.Line($"training: {config.TrainClips} mixtures, {config.Epochs} epochs, batch {config.BatchSize}, Adam lr {F(config.LearningRate)}, seed {config.Seed}; " +
            $"validation {config.ValidationClips} mixtures; test {config.TestClips} held-out mixtures (test seed {config.TestSeed})");

        double start = progress.Elapsed;
        var train = SeparationTrainer.MakeSet(TrainSeed(config.Seed), config.TrainClips, config, keepAudio: false);
        var validation = SeparationTrainer.MakeSet(ValidationSeed(config.Seed), config.ValidationClips, config);
        var test = SeparationTrainer.MakeSet(config.TestSeed, config.TestClips, config);
        progress.Line($"synthesized {config.TrainClips + config.ValidationClips + config.TestClips} mixtures and their spectrograms in {progress.Elapsed - start:F1} s");

        var oracle = SeparationTrainer.Score(test, Array.ConvertAll(test, SeparationTrainer.Oracle));
        var half = SeparationTrainer.Score(test, Array.ConvertAll(test, e => SeparationTrainer.FromOutput(e, Constant(0.5f))));
        progress.Line($"references on the test set: mixture as the voice estimate SDR {F2(oracle.MixtureVoiceSdr)} dB; constant mask 0.5 {Signed(half.VoiceImprovement)} dB; " +
            $"ideal ratio mask |Y1|/(|Y1|+|Y2|) (oracle) {Signed(oracle.VoiceImprovement)} dB");

        var trainer = new SeparationTrainer(config, train);
        progress.Line("backend: " + trainer.Net.ActiveBackend);
        var curve = new List<double>();
        var losses = new List<double>();
        for (int epoch = 1; epoch <= config.Epochs; epoch++)
        {
            double epochStart = progress.Elapsed;
            double loss = trainer.TrainEpoch((done, of, running) =>
                progress.Live($"epoch {epoch,3}/{config.Epochs}  batch {done,4}/{of}  loss {running:F5}  elapsed {progress.Elapsed:F1} s"));
            losses.Add(loss);
            string validationText = "";
            if (validation.Length > 0)
            {
                var score = SeparationTrainer.Score(validation, SeparationTrainer.Separate(trainer.Net, validation, config.BatchSize));
                curve.Add(score.VoiceImprovement);
                validationText = $"  validation voice SDR improvement {Signed(score.VoiceImprovement)} dB (SDR {F2(score.VoiceSdr)} dB)";
            }
            progress.Line($"epoch {epoch,3}/{config.Epochs}  loss {loss:F5}{validationText}  epoch {progress.Elapsed - epochStart:F1} s  elapsed {progress.Elapsed:F1} s");
        }

        var separations = SeparationTrainer.Separate(trainer.Net, test, config.BatchSize);
        var result = SeparationTrainer.Score(test, separations);
        var improvements = new double[test.Length];
        for (int i = 0; i < test.Length; i++) improvements[i] = separations[i].VoiceImprovement(test[i].Clip);
        Array.Sort(improvements);
        int positive = Array.FindAll(improvements, v => v > 0).Length;
        progress.Line($"test ({test.Length} held-out mixtures): voice SDR improvement {Signed(result.VoiceImprovement)} dB " +
            $"(median {Signed(improvements[improvements.Length / 2])} dB, positive on {positive}/{test.Length}; SDR {F2(result.MixtureVoiceSdr)} -> {F2(result.VoiceSdr)} dB), " +
            $"accompaniment {Signed(result.AccompanimentImprovement)} dB");
        progress.Line($"target: voice SDR improvement >= {F(TargetDb)} dB: {(result.VoiceImprovement >= TargetDb ? "met" : "NOT met")}; training took {progress.Elapsed - start:F1} s");

        try
        {
            Directory.CreateDirectory(folder);
            string checkpoint = Path.Combine(folder, "separation.safetensors");
            trainer.Net.Save(checkpoint);
            progress.Line($"saved {Path.GetFullPath(checkpoint)}");
            if (curve.Count > 0)
            {
                string curvePath = Path.Combine(folder, "separate-curve.png");
                LineChart.Save(curvePath, $"Voice SDR improvement on {validation.Length} validation mixtures per epoch (final, {test.Length} test mixtures: {Signed(result.VoiceImprovement)} dB)",
                    "SDR improvement (dB)",
                    new[] { new Series("LSTM + masking layer", new SKColor(0x1F, 0x77, 0xB4), curve) },
                    new[]
                    {
                        new Reference($"oracle ideal ratio mask {Signed(oracle.VoiceImprovement)} dB", new SKColor(0x2E, 0x9D, 0x4A), oracle.VoiceImprovement),
                        new Reference($"target {F(TargetDb)} dB", new SKColor(0xD6, 0x27, 0x28), TargetDb),
                        new Reference($"constant mask 0.5 {Signed(half.VoiceImprovement)} dB", new SKColor(0x99, 0x99, 0x99), half.VoiceImprovement),
                    }, yMin: 0);
                progress.Line($"plotted {Path.GetFullPath(curvePath)}");
            }
            for (int c = 0; c < Math.Min(options.Clips, test.Length); c++) WriteClip(folder, c + 1, test[c], separations[c], progress);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot write to {folder}: {e.Message}");
            return 1;
        }
        return 0;
    }

    /// <summary>The spectrogram PNG and five WAV files of one test clip (one gain for all five: the mixture peaks at 0.9).</summary>
    public static void WriteClip(string folder, int number, SeparationExample e, Separation s, Progress progress)
    {
        var clip = e.Clip;
        double sdr = s.VoiceSdr(clip), improvement = s.VoiceImprovement(clip), mixtureSdr = Sdr.Compute(clip.Voice, clip.Mixture);
        double accompanimentSdr = Sdr.Compute(clip.Accompaniment, s.Accompaniment);
        string png = Path.Combine(folder, $"clip{number}-spectrograms.png");
        SpectrogramChart.Save(png,
            $"Test clip {number}: voice-to-accompaniment {F2(clip.VoiceToAccompanimentDb)} dB; estimated voice SDR {F2(sdr)} dB ({Signed(improvement)} dB over the mixture)",
            new[]
            {
                new SpectrogramPanel($"mixture (as voice: SDR {F2(mixtureSdr)} dB)", e.MixtureMagnitude),
                new SpectrogramPanel("true voice", e.VoiceMagnitude),
                new SpectrogramPanel("true accompaniment", e.AccompanimentMagnitude),
                new SpectrogramPanel("voice mask ỹ1 / (ỹ1 + ỹ2)", s.VoiceMask, IsMask: true),
                new SpectrogramPanel($"estimated voice (SDR {F2(sdr)} dB)", s.VoiceMagnitude),
                new SpectrogramPanel($"estimated accompaniment (SDR {F2(accompanimentSdr)} dB)", s.AccompanimentMagnitude),
            },
            SeparationTrainer.Frames, SeparationTrainer.Bins, Synth.SampleRate, SeparationTrainer.Hop);

        float peak = 0;
        foreach (float v in clip.Mixture) peak = Math.Max(peak, Math.Abs(v));
        float gain = peak > 0 ? 0.9f / peak : 1f;
        var files = new (string Name, float[] Samples)[]
        {
            ("mixture", clip.Mixture), ("voice", clip.Voice), ("voice-estimate", s.Voice),
            ("accompaniment", clip.Accompaniment), ("accompaniment-estimate", s.Accompaniment),
        };
        foreach (var (name, samples) in files)
        {
            var scaled = new float[samples.Length];
            for (int i = 0; i < scaled.Length; i++) scaled[i] = samples[i] * gain;
            Wav.Write(Path.Combine(folder, $"clip{number}-{name}.wav"), scaled, Synth.SampleRate);
        }
        progress.Line($"clip {number}: voice SDR {F2(mixtureSdr)} -> {F2(sdr)} dB ({Signed(improvement)} dB); wrote {Path.GetFullPath(png)} and clip{number}-{{mixture,voice,voice-estimate,accompaniment,accompaniment-estimate}}.wav");
    }

    /// <summary>Training data and validation data seeds, derived from --seed (the test seed is fixed).</summary>
    public static ulong TrainSeed(ulong seed) => unchecked(seed * 0x9E3779B97F4A7C15UL + 11);
    public static ulong ValidationSeed(ulong seed) => unchecked(seed * 0x9E3779B97F4A7C15UL + 22);

    private static float[] Constant(float value)
    {
        var raw = new float[SeparationTrainer.Frames * SeparationTrainer.OutputWidth];
        Array.Fill(raw, value);
        return raw;
    }

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
    private static string F2(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
    private static string Signed(double v) => v.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);
}
