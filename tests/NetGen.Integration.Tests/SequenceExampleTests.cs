using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NetGen.Examples.Sequence;
using NetGen.Examples.Sequence.Audio;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Integration.Tests;

/// <summary>examples/Sequence: the STFT, SDR, WAV and masking-layer pieces, the memory task, and both commands as processes.</summary>
public class SequenceExampleTests
{
    private readonly ITestOutputHelper _output;

    public SequenceExampleTests(ITestOutputHelper output) => _output = output;

    // ------------------------------------------------------------------ signal processing

    [Fact]
    public void Fft_matches_a_direct_dft_and_inverts()
    {
        const int n = 64;
        var fft = new Fft(n);
        var rng = new Rng(3);
        var re = new double[n];
        var im = new double[n];
        for (int i = 0; i < n; i++) { re[i] = rng.NextUniform(-1, 1); im[i] = rng.NextUniform(-1, 1); }
        var (re0, im0) = ((double[])re.Clone(), (double[])im.Clone());
        fft.Forward(re, im);
        for (int k = 0; k < n; k++)
        {
            double sr = 0, si = 0;
            for (int t = 0; t < n; t++)
            {
                double a = -2 * Math.PI * k * t / n;
                sr += re0[t] * Math.Cos(a) - im0[t] * Math.Sin(a);
                si += re0[t] * Math.Sin(a) + im0[t] * Math.Cos(a);
            }
            Assert.Equal(sr, re[k], 9);
            Assert.Equal(si, im[k], 9);
        }
        fft.Inverse(re, im);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(re0[i], re[i], 12);
            Assert.Equal(im0[i], im[i], 12);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fft(100));
    }

    [Theory]
    [InlineData(8192)]   // the example's clips: 65 frames
    [InlineData(8000)]   // not a multiple of the hop
    [InlineData(1000)]
    public void Stft_and_inverse_stft_reconstruct_the_signal(int samples)
    {
        var stft = new Stft(256, 128);
        var rng = new Rng(11);
        var signal = new float[samples];
        for (int i = 0; i < samples; i++)
            signal[i] = 0.5f * MathF.Sin(2 * MathF.PI * (100 + 0.2f * i) * i / 8000f) + 0.3f * rng.NextUniform(-1, 1);
        var spectrum = stft.Forward(signal);
        Assert.Equal(samples / 128 + 1, spectrum.Frames);
        Assert.Equal(129, spectrum.Bins);
        var back = stft.Inverse(spectrum, samples);
        double worst = 0;
        for (int i = 0; i < samples; i++) worst = Math.Max(worst, Math.Abs(back[i] - signal[i]));
        _output.WriteLine($"{samples} samples: largest reconstruction error {worst:E2}");
        Assert.True(worst < 1e-4, $"largest error {worst:E2}");

        // Keeping the mixture's phase with its own magnitudes is the identity too.
        var again = stft.Inverse(spectrum.WithMagnitude(spectrum.Magnitude()), samples);
        for (int i = 0; i < samples; i++) Assert.True(Math.Abs(again[i] - signal[i]) < 1e-4);
    }

    [Fact]
    public void Stft_of_a_sinusoid_peaks_at_its_bin_with_the_hann_gain()
    {
        var stft = new Stft(256, 128);
        var signal = new float[8192];
        for (int i = 0; i < signal.Length; i++) signal[i] = MathF.Cos(2 * MathF.PI * 1000 * i / 8000f); // bin 32 exactly
        var magnitude = stft.Forward(signal).Magnitude();
        int frame = 32;
        int peak = 0;
        for (int k = 1; k < 129; k++) if (magnitude[frame * 129 + k] > magnitude[frame * 129 + peak]) peak = k;
        Assert.Equal(32, peak);
        Assert.Equal(64.0, magnitude[frame * 129 + 32], 2);   // amplitude * sum(window) / 2 = 128 / 2
        Assert.Equal(1000.0, stft.BinFrequency(32, 8000));
    }

    [Fact]
    public void Sdr_of_known_cases()
    {
        var s = new float[] { 1, 0, 0, 0 };
        var a = new float[] { 0, 1, 0, 0 };
        Assert.Equal(double.PositiveInfinity, Sdr.Compute(s, s));
        Assert.Equal(0.0, Sdr.Compute(s, new float[4]), 10);                                  // silence: error = signal
        Assert.Equal(20 * Math.Log10(2), Sdr.Compute(s, new float[] { 0.5f, 0, 0, 0 }), 6);   // half: 6.02 dB
        Assert.Equal(20.0, Sdr.Compute(s, new float[] { 1, 0.1f, 0, 0 }), 5);                // error energy 1/100
        var mixture = new float[] { 1, 1, 0, 0 };
        Assert.Equal(0.0, Sdr.Compute(s, mixture), 10);                                      // equal-power orthogonal mixture
        Assert.Equal(20.0, Sdr.Improvement(s, new float[] { 1, 0.1f, 0, 0 }, mixture), 5);
        Assert.Equal(-20 * Math.Log10(2), Sdr.Compute(new float[] { 1, 1 }, new float[] { -1, -1 }), 6); // sign flip: error energy 4x
        Assert.Throws<ArgumentException>(() => Sdr.Compute(new float[2], new float[2]));
        Assert.Throws<ArgumentException>(() => Sdr.Compute(s, new float[3]));
    }

    [Fact]
    public void Wav_header_is_canonical_16_bit_mono_pcm()
    {
        var bytes = Wav.Encode(new float[] { 0f, 1f, -1f, 0.5f, 2f }, 8000);
        Assert.Equal(44 + 10, bytes.Length);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal(36 + 10, BitConverter.ToInt32(bytes, 4));          // RIFF size: file - 8
        Assert.Equal("WAVE", System.Text.Encoding.ASCII.GetString(bytes, 8, 4));
        Assert.Equal("fmt ", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(16, BitConverter.ToInt32(bytes, 16));              // fmt chunk size
        Assert.Equal(1, BitConverter.ToInt16(bytes, 20));               // PCM
        Assert.Equal(1, BitConverter.ToInt16(bytes, 22));               // mono
        Assert.Equal(8000, BitConverter.ToInt32(bytes, 24));            // sample rate
        Assert.Equal(16000, BitConverter.ToInt32(bytes, 28));           // byte rate
        Assert.Equal(2, BitConverter.ToInt16(bytes, 32));               // block align
        Assert.Equal(16, BitConverter.ToInt16(bytes, 34));              // bits per sample
        Assert.Equal("data", System.Text.Encoding.ASCII.GetString(bytes, 36, 4));
        Assert.Equal(10, BitConverter.ToInt32(bytes, 40));              // data size
        Assert.Equal(new short[] { 0, 32767, -32767, 16384, 32767 },    // rounded, clipped
            new[] { 0, 1, 2, 3, 4 }.Select(i => BitConverter.ToInt16(bytes, 44 + 2 * i)).ToArray());

        var (rate, samples) = Wav.Decode(bytes);
        Assert.Equal(8000, rate);
        Assert.Equal(5, samples.Length);
        Assert.Equal(0.5f, samples[3], 3);
        Assert.Throws<InvalidDataException>(() => Wav.Decode(bytes.AsSpan(0, 20)));
    }

    [Fact]
    public void Masking_layer_gradient_matches_finite_differences()
    {
        const int frames = 3, bins = 4;
        var rng = new Rng(5);
        var raw = new float[frames * 2 * bins];
        var mixture = new float[frames * bins];
        var voice = new float[frames * bins];
        var accompaniment = new float[frames * bins];
        for (int i = 0; i < raw.Length; i++) raw[i] = rng.NextUniform(0.05f, 0.95f);
        for (int i = 0; i < mixture.Length; i++)
        {
            voice[i] = rng.NextUniform(0, 2);
            accompaniment[i] = rng.NextUniform(0, 2);
            mixture[i] = voice[i] + accompaniment[i] + rng.NextUniform(-0.5f, 0.5f);
        }
        var gradient = new float[raw.Length];
        TimeFrequencyMask.Loss(raw, mixture, voice, accompaniment, frames, bins, gradient);
        var scratch = new float[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            const float h = 1e-3f;
            float keep = raw[i];
            raw[i] = keep + h;
            double plus = TimeFrequencyMask.Loss(raw, mixture, voice, accompaniment, frames, bins, scratch);
            raw[i] = keep - h;
            double minus = TimeFrequencyMask.Loss(raw, mixture, voice, accompaniment, frames, bins, scratch);
            raw[i] = keep;
            double numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 2e-3 * Math.Max(1, Math.Abs(numeric)), $"raw[{i}]: analytic {gradient[i]}, numeric {numeric}");
        }

        // The two estimates always add up to the mixture (the masks sum to one, up to epsilon).
        var v = new float[frames * bins];
        var a = new float[frames * bins];
        TimeFrequencyMask.Apply(raw, mixture, v, a, frames, bins);
        for (int i = 0; i < v.Length; i++) Assert.Equal(mixture[i], v[i] + a[i], 4);
    }

    [Fact]
    public void Synthetic_mixtures_are_the_sum_of_their_sources_at_the_drawn_ratio()
    {
        var rng = new Rng(9);
        for (int n = 0; n < 5; n++)
        {
            var clip = Synth.Mixture(ref rng);
            Assert.Equal(Synth.Samples, clip.Mixture.Length);
            for (int i = 0; i < Synth.Samples; i++) Assert.True(Math.Abs(clip.Voice[i] + clip.Accompaniment[i] - clip.Mixture[i]) < 1e-6);
            Assert.Equal(Synth.MixtureRms, Synth.Rms(clip.Mixture), 4);
            double ratio = 20 * Math.Log10(Synth.Rms(clip.Voice) / Synth.Rms(clip.Accompaniment));
            Assert.Equal(clip.VoiceToAccompanimentDb, ratio, 3);
            Assert.InRange(clip.VoiceToAccompanimentDb, -5, 5);
            // The mixture's SDR as an estimate of the voice is the voice-to-accompaniment ratio.
            Assert.Equal(ratio, Sdr.Compute(clip.Voice, clip.Mixture), 3);
        }
    }

    [Fact]
    public void Memory_task_labels_follow_the_rule_and_are_balanced()
    {
        var rng = new Rng(4);
        var sequence = new int[MemoryTask.Steps];
        int positives = 0, count = 4000;
        for (int n = 0; n < count; n++)
        {
            int label = MemoryTask.Sample(ref rng, sequence);
            Assert.Equal(MemoryTask.Label(sequence), label);
            for (int t = MemoryTask.Window; t < sequence.Length; t++) Assert.True(sequence[t] is not (MemoryTask.A or MemoryTask.B), $"marker at step {t}");
            positives += label;
        }
        Assert.InRange(positives / (double)count, 0.47, 0.53);
        var (inputs, labels) = MemoryTask.MakeSet(1, 10, 50, noise: 0f);
        Assert.Equal(10 * 50 * MemoryTask.Symbols, inputs.Length);
        for (int s = 0; s < 10 * 50; s++)
        {
            float sum = 0;
            for (int k = 0; k < MemoryTask.Symbols; k++) sum += inputs[s * MemoryTask.Symbols + k];
            Assert.Equal(1f, sum);   // one-hot
        }
        Assert.All(labels, l => Assert.True(l is 0f or 1f));

        // The default set is the same sequences plus Gaussian noise of standard deviation NoiseStd on every value.
        var (noisy, noisyLabels) = MemoryTask.MakeSet(1, 10, 50);
        Assert.Equal(labels, noisyLabels);
        double mean = 0, square = 0;
        for (int i = 0; i < noisy.Length; i++)
        {
            double d = noisy[i] - inputs[i];
            mean += d;
            square += d * d;
        }
        mean /= noisy.Length;
        double std = Math.Sqrt(square / noisy.Length - mean * mean);
        Assert.InRange(mean, -0.03, 0.03);
        Assert.InRange(std, 0.9 * MemoryTask.NoiseStd, 1.1 * MemoryTask.NoiseStd);
    }

    [Fact]
    public void Lstm_gate_biases_are_set_in_pytorch_row_order()
    {
        var net = new MemoryLstm50(new NetworkOptions { Capacity = 1, Seed = 1 });
        MemoryTrainer.SetLstmGateBiases(net, input: -3, forget: 3);
        foreach (var p in MemoryLstm50.ParameterSchema)
        {
            if (!p.Name.Contains("bias_")) continue;
            var values = net.Parameters.Slice(p.Offset, p.Length).ToArray();
            bool ih = p.Name.Contains("bias_ih");
            Assert.All(values[..32], v => Assert.Equal(ih ? -3f : 0f, v));   // i
            Assert.All(values[32..64], v => Assert.Equal(ih ? 3f : 0f, v));  // f
        }
        Assert.Equal(4 * 32 * (8 + 32) + 2 * 4 * 32 + 32 + 1, MemoryLstm50.ParameterCount);
        Assert.Equal(32 * (8 + 32) + 2 * 32 + 32 + 1, MemoryRnn50.ParameterCount);
        Assert.Equal(65 * 129, SeparationNet.InputSize);
        Assert.Equal(65 * 258, SeparationNet.OutputSize);
    }

    // ------------------------------------------------------------------ the example as a process

    private static (int ExitCode, string Output) RunExample(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Sequence.dll");
        Assert.True(File.Exists(dll), "missing " + dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the example did not finish in 120 s");
        }
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static double Number(string output, string pattern)
    {
        var match = Regex.Match(output, pattern);
        Assert.True(match.Success, $"no match for /{pattern}/ in:\n{output}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static void AssertPng(string path, int minWidth, int minHeight)
    {
        Assert.True(File.Exists(path), "missing " + path);
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.True(bitmap.Width >= minWidth && bitmap.Height >= minHeight, $"{path}: {bitmap.Width}x{bitmap.Height}");
    }

    /// <summary>
    /// A shortened separate run: 160 training mixtures, 2 epochs, scored on the first 20 test mixtures. Measured at
    /// +6.25 to +6.37 dB over seeds 1-6 (the constant 0.5 mask gets +3.05 dB on the same clips; the full run +11.45 dB
    /// on 200); asserted at >= 4.5 dB and >= 1.2 dB above the constant mask.
    /// </summary>
    [Fact]
    [Trait("Category", "Training")]
    public void Separate_command_improves_sdr_and_writes_pngs_and_wavs()
    {
        string dir = Path.Combine(Path.GetTempPath(), "netgen-separate-" + Guid.NewGuid().ToString("N"));
        try
        {
            var clock = Stopwatch.StartNew();
            var (code, output) = RunExample("separate", "--train", "160", "--epochs", "2", "--valid", "10", "--test", "20", "--clips", "1", "--seed", "1", "--out", dir);
            _output.WriteLine(output);
            Assert.True(code == 0, output);
            Assert.Matches(@"epoch +2/2  loss \d\.\d{5}  validation voice SDR improvement [+-]\d+\.\d\d dB", output);
            double improvement = Number(output, @"test \(20 held-out mixtures\): voice SDR improvement ([+-]\d+\.\d\d) dB");
            double constant = Number(output, @"constant mask 0\.5 ([+-]\d+\.\d\d) dB");
            _output.WriteLine($"SDR improvement {improvement:F2} dB (constant mask {constant:F2} dB) in {clock.Elapsed.TotalSeconds:F1} s");
            Assert.True(improvement >= 4.5, $"SDR improvement {improvement} dB");
            Assert.True(improvement >= constant + 1.2, $"SDR improvement {improvement} dB vs constant mask {constant} dB");

            AssertPng(Path.Combine(dir, "clip1-spectrograms.png"), 1000, 500);
            AssertPng(Path.Combine(dir, "separate-curve.png"), 1000, 500);
            foreach (string name in new[] { "mixture", "voice", "voice-estimate", "accompaniment", "accompaniment-estimate" })
            {
                var (rate, samples) = Wav.Decode(File.ReadAllBytes(Path.Combine(dir, $"clip1-{name}.wav")));
                Assert.Equal(Synth.SampleRate, rate);
                Assert.Equal(Synth.Samples, samples.Length);
                Assert.Contains(samples, v => v != 0);
            }
            Assert.False(File.Exists(Path.Combine(dir, "clip2-mixture.wav")));
            var net = new SeparationNet(new NetworkOptions { Capacity = 1 });
            net.Load(Path.Combine(dir, "separation.safetensors"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The issue's must-show: the memory task at T = 50 with the command's defaults (10,000 sequences, 15 epochs, input
    /// noise 0.2) on 1,000 test sequences. Measured over seeds 1-10 (2,000 test sequences): LSTM 96.9-98.2 %, RNN
    /// 48.2-51.9 %; asserted: LSTM >= 95 % and RNN below 70 %.
    /// </summary>
    [Fact]
    [Trait("Category", "Training")]
    public void Memory_command_lstm_solves_T50_and_the_rnn_does_not()
    {
        string dir = Path.Combine(Path.GetTempPath(), "netgen-memory-" + Guid.NewGuid().ToString("N"));
        try
        {
            var clock = Stopwatch.StartNew();
            var (code, output) = RunExample("memory", "--test", "1000", "--seed", "1", "--out", dir);
            _output.WriteLine(output);
            Assert.True(code == 0, output);
            Assert.Matches(@"epoch +15/15  LSTM loss \d\.\d{4} test accuracy +\d+\.\d %  \|  RNN loss \d\.\d{4} test accuracy +\d+\.\d %", output);
            double lstm = Number(output, @"final test accuracy on 1,000 sequences: LSTM (\d+\.\d) %");
            double rnn = Number(output, @"final test accuracy on 1,000 sequences: LSTM \d+\.\d % \([^)]*\), RNN (\d+\.\d) %");
            _output.WriteLine($"LSTM {lstm:F1} %, RNN {rnn:F1} % in {clock.Elapsed.TotalSeconds:F1} s");
            Assert.True(lstm >= 95, $"LSTM {lstm} %");
            Assert.True(rnn < 70, $"RNN {rnn} %");
            AssertPng(Path.Combine(dir, "memory-accuracy.png"), 1000, 500);
            new MemoryLstm50(new NetworkOptions { Capacity = 1 }).Load(Path.Combine(dir, "memory-lstm50.safetensors"));
            new MemoryRnn50(new NetworkOptions { Capacity = 1 }).Load(Path.Combine(dir, "memory-rnn50.safetensors"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Sequence_example_rejects_bad_command_lines_with_exit_code_2_and_unwritable_output_with_1()
    {
        foreach (var args in new[]
        {
            Array.Empty<string>(),
            new[] { "transcribe" },
            new[] { "separate", "--epochs", "0" },
            new[] { "separate", "--epochs", "many" },
            new[] { "memory", "--seed", "-1" },
            new[] { "memory", "--length", "70" },
            new[] { "memory", "--clips", "2" },
            new[] { "separate", "--length", "50" },
            new[] { "separate", "--lr", "-0.1" },
            new[] { "separate", "--out" },
            new[] { "separate", "--test", "2", "--clips", "3" },
            new[] { "memory", "--train", "10", "--batch", "32" },
            new[] { "memory", "--frobnicate" },
        })
        {
            var (code, output) = RunExample(args);
            Assert.True(code == 2, string.Join(' ', args) + ": " + output);
            Assert.Contains("error: ", output);
            Assert.Contains("usage:", output);
        }
        string file = Path.GetTempFileName();   // a folder inside a file cannot be created
        try
        {
            string folder = Path.Combine(file, "sequence");
            var (unwritable, message) = RunExample("memory", "--epochs", "1", "--train", "32", "--test", "32", "--out", folder);
            Assert.True(unwritable == 1, message);
            Assert.Contains("error: cannot write to " + folder, message);
        }
        finally
        {
            File.Delete(file);
        }

        var (help, text) = RunExample("--help");
        Assert.Equal(0, help);
        Assert.Contains("separate", text);
        Assert.Contains("memory", text);
    }
}
