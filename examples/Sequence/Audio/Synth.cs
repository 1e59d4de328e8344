using System;

namespace NetGen.Examples.Sequence.Audio;

/// <summary>One synthetic training or test example: the two sources and their sum, all <see cref="Synth.Samples"/> long.</summary>
public sealed record Clip(float[] Voice, float[] Accompaniment, float[] Mixture, double VoiceToAccompanimentDb);

/// <summary>
/// Synthesizes mixtures of a sung "voice" and a noise/percussion "accompaniment" at 8 kHz, 8,192 samples (1.024 s):
/// <list type="bullet">
/// <item>voice: 2 to 5 notes (some legato with a glide, some separated by a rest), pitch 120-400 Hz around a random
/// register, smoothed in log-frequency, with vibrato (4.5-6.5 Hz, 0.5-2 %) and a slow drift; up to 30 harmonics below
/// 3.9 kHz with a k^-rolloff slope shaped by two vowel formants; attack/release envelope and a little tremolo;</item>
/// <item>accompaniment: a drum pattern at 80-170 BPM (kick: a 150 to 50 Hz sweep; snare: band-passed noise plus a
/// 180-220 Hz tone; hi-hat: high-passed noise), 0-4 resonant band-passed noise bursts, 0-8 clicks and a low-passed
/// noise bed;</item>
/// <item>mixture: each source scaled to unit RMS, the voice then to a voice-to-accompaniment ratio drawn uniformly in
/// [minDb, maxDb], and everything scaled so that the mixture's RMS is <see cref="MixtureRms"/>.</item>
/// </list>
/// Everything is drawn from the caller's <see cref="Rng"/>, so a seed fixes a data set.
/// </summary>
public static class Synth
{
    public const int SampleRate = 8000;
    public const int Samples = 8192;
    public const float MixtureRms = 0.05f;

    public static Clip Mixture(ref Rng rng, double minDb = -5, double maxDb = 5)
    {
        var voice = Voice(ref rng);
        var accompaniment = Accompaniment(ref rng);
        double ratioDb = minDb + (maxDb - minDb) * rng.NextDouble();
        Normalize(voice, (float)Math.Pow(10, ratioDb / 20));
        Normalize(accompaniment, 1f);
        var mixture = new float[Samples];
        for (int i = 0; i < Samples; i++) mixture[i] = voice[i] + accompaniment[i];
        float gain = MixtureRms / Rms(mixture);
        for (int i = 0; i < Samples; i++)
        {
            voice[i] *= gain;
            accompaniment[i] *= gain;
            mixture[i] *= gain;
        }
        return new Clip(voice, accompaniment, mixture, ratioDb);
    }

    // ------------------------------------------------------------------ voice

    public static float[] Voice(ref Rng rng)
    {
        int n = Samples;
        var targetLogF0 = new double[n];
        var gate = new double[n];
        double register = Math.Log(U(ref rng, 150, 300));
        int position = (int)(U(ref rng, 0, 0.15) * SampleRate);
        int notes = 2 + rng.NextInt(4);
        double logF0 = register;
        for (int note = 0; note < notes && position < n; note++)
        {
            int length = (int)(U(ref rng, 0.15, 0.45) * SampleRate);
            double semitones = rng.NextInt(13) - 5;                         // -5 .. +7 around the register
            logF0 = Math.Clamp(register + semitones / 12 * Math.Log(2), Math.Log(125), Math.Log(390));
            for (int i = position; i < Math.Min(n, position + length); i++)
            {
                targetLogF0[i] = logF0;
                gate[i] = 1;
            }
            position += length;
            if (rng.NextFloat() < 0.5f)                                     // a rest (pitch held, voice off)
            {
                int rest = (int)(U(ref rng, 0.04, 0.15) * SampleRate);
                for (int i = position; i < Math.Min(n, position + rest); i++) targetLogF0[i] = logF0;
                position += rest;
            }
        }
        for (int i = Math.Max(0, position); i < n; i++) targetLogF0[i] = logF0;

        // Smooth pitch (glides of ~25 ms), vibrato, slow drift; attack 30 ms and release 60 ms on the gate.
        double vibratoRate = U(ref rng, 4.5, 6.5), vibratoDepth = U(ref rng, 0.005, 0.02), vibratoPhase = U(ref rng, 0, 2 * Math.PI);
        double driftRate = U(ref rng, 0.3, 1.2), driftDepth = U(ref rng, 0.0, 0.015), driftPhase = U(ref rng, 0, 2 * Math.PI);
        double tremoloRate = U(ref rng, 3, 7), tremoloDepth = U(ref rng, 0, 0.15);
        double glide = 1 - Math.Exp(-1.0 / (0.025 * SampleRate));
        double attack = 1 - Math.Exp(-1.0 / (0.03 * SampleRate)), release = 1 - Math.Exp(-1.0 / (0.06 * SampleRate));

        // Vowel: two formants with random centres and widths, re-drawn per clip.
        double f1 = U(ref rng, 350, 900), f2 = U(ref rng, 900, 2500), b1 = U(ref rng, 80, 200), b2 = U(ref rng, 100, 300);
        double rolloff = U(ref rng, 0.6, 1.3);
        const int maxHarmonics = 30;
        var offsets = new double[maxHarmonics + 1];
        var gains = new double[maxHarmonics + 1];
        for (int k = 1; k <= maxHarmonics; k++)
        {
            offsets[k] = U(ref rng, 0, 2 * Math.PI);
            gains[k] = Math.Pow(10, U(ref rng, -3, 3) / 20);               // +-3 dB of per-harmonic jitter
        }

        var slope = new double[maxHarmonics + 1];
        var amplitudes = new double[maxHarmonics + 1];
        for (int k = 1; k <= maxHarmonics; k++) slope[k] = gains[k] * Math.Pow(k, -rolloff);
        var voice = new float[n];
        double smoothLogF0 = targetLogF0[0], envelope = 0, phase = 0;
        for (int i = 0; i < n; i++)
        {
            double time = (double)i / SampleRate;
            smoothLogF0 += glide * (targetLogF0[i] - smoothLogF0);
            double f0 = Math.Exp(smoothLogF0
                + vibratoDepth * Math.Sin(2 * Math.PI * vibratoRate * time + vibratoPhase)
                + driftDepth * Math.Sin(2 * Math.PI * driftRate * time + driftPhase));
            f0 = Math.Clamp(f0, 120, 400);
            envelope += (gate[i] > envelope ? attack : release) * (gate[i] - envelope);
            phase += 2 * Math.PI * f0 / SampleRate;
            if (phase > 2 * Math.PI * 1000) phase -= 2 * Math.PI * 1000;
            if (i % 16 == 0)                                                // the spectral envelope moves slowly: every 2 ms
            {
                for (int k = 1; k <= maxHarmonics; k++)
                {
                    double f = k * f0;
                    amplitudes[k] = f > 3900 ? 0 : slope[k] * (Math.Exp(-Sq((f - f1) / b1)) + 0.7 * Math.Exp(-Sq((f - f2) / b2)) + 0.12);
                }
            }
            if (envelope < 1e-4) continue;
            double sum = 0;
            for (int k = 1; k <= maxHarmonics && amplitudes[k] != 0; k++) sum += amplitudes[k] * Math.Sin(k * phase + offsets[k]);
            double tremolo = 1 + tremoloDepth * Math.Sin(2 * Math.PI * tremoloRate * time);
            voice[i] = (float)(envelope * tremolo * sum);
        }
        return voice;
    }

    // ------------------------------------------------------------------ accompaniment

    public static float[] Accompaniment(ref Rng rng)
    {
        int n = Samples;
        var a = new double[n];
        double bpm = U(ref rng, 80, 170);
        int step = (int)(60.0 / bpm / 2 * SampleRate);                      // eighth notes
        int start = -rng.NextInt(step * 2);
        double kickLevel = U(ref rng, 0.5, 1.0), snareLevel = U(ref rng, 0.3, 0.9), hatLevel = U(ref rng, 0.1, 0.4);
        double snareCentre = U(ref rng, 1200, 3000), hatCutoff = U(ref rng, 2500, 3500);
        double kickDecay = U(ref rng, 0.08, 0.16), snareDecay = U(ref rng, 0.04, 0.1), hatDecay = U(ref rng, 0.01, 0.05);
        for (int s = 0, at = start; at < n; s++, at += step)
        {
            int beat = ((s % 8) + 8) % 8;
            if ((beat is 0 or 4 && rng.NextFloat() < 0.9f) || rng.NextFloat() < 0.1f) Kick(a, at, kickLevel, kickDecay, ref rng);
            if ((beat is 2 or 6 && rng.NextFloat() < 0.85f) || rng.NextFloat() < 0.08f) Snare(a, at, snareLevel, snareDecay, snareCentre, ref rng);
            if (rng.NextFloat() < 0.7f) Hat(a, at + (beat % 2 == 1 ? rng.NextInt(step / 8 + 1) : 0), hatLevel * U(ref rng, 0.6, 1.0), hatDecay, hatCutoff, ref rng);
        }

        // Resonant noise bursts (a swell of 50-300 ms through a band-pass of Q 1-4).
        int bursts = rng.NextInt(5);
        for (int b = 0; b < bursts; b++)
        {
            int at = rng.NextInt(n), length = (int)(U(ref rng, 0.05, 0.3) * SampleRate);
            var filter = Biquad.BandPass(U(ref rng, 300, 3000), U(ref rng, 1, 4));
            double level = U(ref rng, 0.2, 0.8) * 3;
            for (int i = 0; i < length && at + i < n; i++)
            {
                double x = i / (double)length;
                double envelope = Math.Sin(Math.PI * x) * Math.Exp(-2 * x);
                a[at + i] += level * envelope * filter.Process(rng.NextGaussian());
            }
        }

        // Clicks: 1-3 sample impulses.
        int clicks = rng.NextInt(9);
        for (int c = 0; c < clicks; c++)
        {
            int at = rng.NextInt(n - 3), width = 1 + rng.NextInt(3);
            double level = U(ref rng, 0.5, 2.0) * (rng.NextFloat() < 0.5f ? -1 : 1);
            for (int i = 0; i < width; i++) a[at + i] += level * (1 - 0.3 * i);
        }

        // A low-passed noise bed.
        double bed = U(ref rng, 0, 0.15), cutoff = U(ref rng, 300, 1500);
        var lowPass = Biquad.LowPass(cutoff, 0.707);
        for (int i = 0; i < n; i++) a[i] += bed * 4 * lowPass.Process(rng.NextGaussian());

        var result = new float[n];
        for (int i = 0; i < n; i++) result[i] = (float)a[i];
        return result;
    }

    private static void Kick(double[] a, int at, double level, double decay, ref Rng rng)
    {
        double phase = 0, sweep = U(ref rng, 0.02, 0.04), low = U(ref rng, 45, 60);
        int length = (int)(decay * 5 * SampleRate);
        for (int i = Math.Max(0, -at); i < length && at + i < a.Length; i++)
        {
            double t = (double)i / SampleRate;
            phase += 2 * Math.PI * (low + 100 * Math.Exp(-t / sweep)) / SampleRate;
            a[at + i] += level * Math.Exp(-t / decay) * Math.Sin(phase) * 2;
        }
        if (at >= 0 && at < a.Length) a[at] += level * 0.5;                  // beater click
    }

    private static void Snare(double[] a, int at, double level, double decay, double centre, ref Rng rng)
    {
        var filter = Biquad.BandPass(centre, 0.8);
        double tone = U(ref rng, 180, 220);
        int length = (int)(decay * 5 * SampleRate);
        for (int i = 0; i < length && at + i < a.Length; i++)
        {
            double t = (double)i / SampleRate;
            double noise = filter.Process(rng.NextGaussian());
            if (at + i < 0) continue;
            a[at + i] += level * (2 * Math.Exp(-t / decay) * noise + 0.6 * Math.Exp(-t / 0.05) * Math.Sin(2 * Math.PI * tone * t));
        }
    }

    private static void Hat(double[] a, int at, double level, double decay, double cutoff, ref Rng rng)
    {
        var filter = Biquad.HighPass(cutoff, 0.707);
        int length = (int)(decay * 5 * SampleRate);
        for (int i = 0; i < length && at + i < a.Length; i++)
        {
            double t = (double)i / SampleRate;
            double noise = filter.Process(rng.NextGaussian());
            if (at + i < 0) continue;
            a[at + i] += level * 2 * Math.Exp(-t / decay) * noise;
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Scales <paramref name="signal"/> to RMS <paramref name="rms"/> (a silent signal stays silent).</summary>
    private static void Normalize(float[] signal, float rms)
    {
        float current = Rms(signal);
        if (current == 0) return;
        float gain = rms / current;
        for (int i = 0; i < signal.Length; i++) signal[i] *= gain;
    }

    public static float Rms(ReadOnlySpan<float> signal)
    {
        double sum = 0;
        foreach (float v in signal) sum += (double)v * v;
        return (float)Math.Sqrt(sum / Math.Max(1, signal.Length));
    }

    private static double U(ref Rng rng, double low, double high) => low + (high - low) * rng.NextDouble();

    private static double Sq(double x) => x * x;

    /// <summary>An RBJ-cookbook biquad (direct form I) at <see cref="SampleRate"/>.</summary>
    private struct Biquad
    {
        private double _b0, _b1, _b2, _a1, _a2, _x1, _x2, _y1, _y2;

        public static Biquad BandPass(double centre, double q) => Make(centre, q, kind: 0);
        public static Biquad LowPass(double cutoff, double q) => Make(cutoff, q, kind: 1);
        public static Biquad HighPass(double cutoff, double q) => Make(cutoff, q, kind: 2);

        private static Biquad Make(double frequency, double q, int kind)
        {
            double w = 2 * Math.PI * Math.Min(frequency, 0.45 * SampleRate) / SampleRate, cos = Math.Cos(w), alpha = Math.Sin(w) / (2 * q);
            double b0, b1, b2;
            switch (kind)
            {
                case 0: b0 = alpha; b1 = 0; b2 = -alpha; break;                          // band-pass, 0 dB peak
                case 1: b0 = (1 - cos) / 2; b1 = 1 - cos; b2 = (1 - cos) / 2; break;       // low-pass
                default: b0 = (1 + cos) / 2; b1 = -(1 + cos); b2 = (1 + cos) / 2; break;  // high-pass
            }
            double a0 = 1 + alpha;
            return new Biquad { _b0 = b0 / a0, _b1 = b1 / a0, _b2 = b2 / a0, _a1 = -2 * cos / a0, _a2 = (1 - alpha) / a0 };
        }

        public double Process(double x)
        {
            double y = _b0 * x + _b1 * _x1 + _b2 * _x2 - _a1 * _y1 - _a2 * _y2;
            _x2 = _x1; _x1 = x; _y2 = _y1; _y1 = y;
            return y;
        }
    }
}
