using System;

namespace NetGen.Examples.Sequence.Audio;

/// <summary>A complex spectrogram, frame-major: bin k of frame t at [t * Bins + k].</summary>
public sealed class Spectrum
{
    public Spectrum(int frames, int bins)
    {
        Frames = frames;
        Bins = bins;
        Re = new float[frames * bins];
        Im = new float[frames * bins];
    }

    public int Frames { get; }
    public int Bins { get; }
    public float[] Re { get; }
    public float[] Im { get; }

    /// <summary>|X| of every bin, frame-major.</summary>
    public float[] Magnitude()
    {
        var m = new float[Re.Length];
        for (int i = 0; i < m.Length; i++) m[i] = MathF.Sqrt(Re[i] * Re[i] + Im[i] * Im[i]);
        return m;
    }

    /// <summary>A new spectrum with |X| replaced by <paramref name="magnitude"/> and the phase of this one (zero phase where |X| = 0).</summary>
    public Spectrum WithMagnitude(ReadOnlySpan<float> magnitude)
    {
        var s = new Spectrum(Frames, Bins);
        for (int i = 0; i < Re.Length; i++)
        {
            double m = Math.Sqrt((double)Re[i] * Re[i] + (double)Im[i] * Im[i]);
            if (m > 0)
            {
                s.Re[i] = (float)(magnitude[i] * Re[i] / m);
                s.Im[i] = (float)(magnitude[i] * Im[i] / m);
            }
            else s.Re[i] = magnitude[i];
        }
        return s;
    }
}

/// <summary>
/// Short-time Fourier transform with a periodic Hann window of <see cref="WindowSize"/> samples and hop
/// <see cref="Hop"/>, the signal padded by WindowSize/2 zeros on both sides ("centered" frames, so frame t is centred
/// on sample t * Hop). A signal of L samples (L a multiple of the hop) gives L / Hop + 1 frames of WindowSize/2 + 1 bins.
/// The inverse is the weighted overlap-add: each frame's inverse FFT times the window, summed, divided by the sum of
/// squared windows at that sample, which inverts the forward transform exactly (the sum is >= 1/2 everywhere inside
/// the signal for hop = WindowSize/2).
/// </summary>
public sealed class Stft
{
    private readonly Fft _fft;
    private readonly double[] _window;

    public Stft(int windowSize = 256, int hop = 128)
    {
        if (hop < 1 || hop > windowSize / 2) throw new ArgumentOutOfRangeException(nameof(hop), hop, "The hop must be between 1 and half the window.");
        _fft = new Fft(windowSize);
        WindowSize = windowSize;
        Hop = hop;
        _window = new double[windowSize];
        for (int n = 0; n < windowSize; n++) _window[n] = 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / windowSize);
    }

    public int WindowSize { get; }
    public int Hop { get; }
    public int Bins => WindowSize / 2 + 1;

    /// <summary>Frames of a signal of <paramref name="samples"/> samples.</summary>
    public int FrameCount(int samples) => samples / Hop + 1;

    /// <summary>Center frequency of bin k in Hz.</summary>
    public double BinFrequency(int k, double sampleRate) => k * sampleRate / WindowSize;

    public Spectrum Forward(ReadOnlySpan<float> signal)
    {
        int frames = FrameCount(signal.Length), pad = WindowSize / 2, n = WindowSize, bins = Bins;
        var spectrum = new Spectrum(frames, bins);
        var re = new double[n];
        var im = new double[n];
        for (int t = 0; t < frames; t++)
        {
            int start = t * Hop - pad;
            for (int i = 0; i < n; i++)
            {
                int s = start + i;
                re[i] = s >= 0 && s < signal.Length ? signal[s] * _window[i] : 0;
                im[i] = 0;
            }
            _fft.Forward(re, im);
            for (int k = 0; k < bins; k++)
            {
                spectrum.Re[t * bins + k] = (float)re[k];
                spectrum.Im[t * bins + k] = (float)im[k];
            }
        }
        return spectrum;
    }

    /// <summary>The signal of <paramref name="samples"/> samples whose STFT is (closest to) <paramref name="spectrum"/>.</summary>
    public float[] Inverse(Spectrum spectrum, int samples)
    {
        int n = WindowSize, pad = n / 2, bins = Bins;
        if (spectrum.Bins != bins) throw new ArgumentException($"The spectrum has {spectrum.Bins} bins; this STFT makes {bins}.", nameof(spectrum));
        var sum = new double[samples];
        var weight = new double[samples];
        var re = new double[n];
        var im = new double[n];
        for (int t = 0; t < spectrum.Frames; t++)
        {
            // The full Hermitian spectrum of a real frame: X[N-k] = conj(X[k]).
            for (int k = 0; k < bins; k++)
            {
                re[k] = spectrum.Re[t * bins + k];
                im[k] = spectrum.Im[t * bins + k];
            }
            im[0] = 0;
            im[bins - 1] = 0;
            for (int k = bins; k < n; k++)
            {
                re[k] = re[n - k];
                im[k] = -im[n - k];
            }
            _fft.Inverse(re, im);
            int start = t * Hop - pad;
            for (int i = 0; i < n; i++)
            {
                int s = start + i;
                if (s < 0 || s >= samples) continue;
                sum[s] += re[i] * _window[i];
                weight[s] += _window[i] * _window[i];
            }
        }
        var signal = new float[samples];
        for (int s = 0; s < samples; s++) signal[s] = weight[s] > 1e-8 ? (float)(sum[s] / weight[s]) : 0f;
        return signal;
    }
}
