using System;

namespace NetGen.Examples.Sequence.Audio;

/// <summary>
/// An in-place iterative radix-2 complex FFT (Cooley-Tukey, decimation in time) of one power-of-two size, with its
/// bit-reversal permutation and twiddle factors computed once. Forward: X[k] = sum x[n] e^(-2 pi i k n / N);
/// Inverse: x[n] = (1/N) sum X[k] e^(+2 pi i k n / N).
/// </summary>
public sealed class Fft
{
    private readonly int[] _reversed;
    private readonly double[] _cos, _sin;   // e^(-2 pi i k / N) for k < N/2

    public Fft(int size)
    {
        if (size < 2 || (size & (size - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(size), size, "The FFT size must be a power of two >= 2.");
        Size = size;
        int bits = 0;
        while ((1 << bits) < size) bits++;
        _reversed = new int[size];
        for (int i = 0; i < size; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
            _reversed[i] = r;
        }
        _cos = new double[size / 2];
        _sin = new double[size / 2];
        for (int k = 0; k < size / 2; k++)
        {
            double angle = -2 * Math.PI * k / size;
            _cos[k] = Math.Cos(angle);
            _sin[k] = Math.Sin(angle);
        }
    }

    public int Size { get; }

    /// <summary>Forward transform of (re, im) in place.</summary>
    public void Forward(Span<double> re, Span<double> im) => Transform(re, im, inverse: false);

    /// <summary>Inverse transform of (re, im) in place, including the 1/N.</summary>
    public void Inverse(Span<double> re, Span<double> im)
    {
        Transform(re, im, inverse: true);
        double scale = 1.0 / Size;
        for (int i = 0; i < Size; i++)
        {
            re[i] *= scale;
            im[i] *= scale;
        }
    }

    private void Transform(Span<double> re, Span<double> im, bool inverse)
    {
        int n = Size;
        if (re.Length < n || im.Length < n) throw new ArgumentException($"The FFT needs {n} real and {n} imaginary values.");
        for (int i = 0; i < n; i++)
        {
            int j = _reversed[i];
            if (j > i)
            {
                (re[i], re[j]) = (re[j], re[i]);
                (im[i], im[j]) = (im[j], im[i]);
            }
        }
        double sign = inverse ? -1 : 1;
        for (int length = 2; length <= n; length <<= 1)
        {
            int half = length >> 1, stride = n / length;
            for (int start = 0; start < n; start += length)
            {
                for (int k = 0; k < half; k++)
                {
                    double wr = _cos[k * stride], wi = sign * _sin[k * stride];
                    int a = start + k, b = a + half;
                    double tr = wr * re[b] - wi * im[b];
                    double ti = wr * im[b] + wi * re[b];
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }
    }
}
