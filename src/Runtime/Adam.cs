using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace NetGen;

/// <summary>
/// Adam (Kingma and Ba, 2015) with bias correction, as PyTorch's torch.optim.Adam / AdamW (amsgrad off):
/// <code>
/// t += 1
/// g  = grad (+ weightDecay * p when not decoupled: L2 penalty, torch.optim.Adam)
/// p *= 1 - lr * weightDecay                 (only when decoupled: torch.optim.AdamW)
/// m  = beta1 * m + (1 - beta1) * g
/// v  = beta2 * v + (1 - beta2) * g^2
/// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
/// </code>
/// The moment buffers are allocated on the first step and bound to that parameter count; later steps
/// allocate nothing.
/// </summary>
public sealed class Adam : Optimizer
{
    private float[]? _m, _v;
    private long _step;
    private double _beta1Power = 1, _beta2Power = 1;

    /// <param name="learningRate">Step size (PyTorch's default 1e-3).</param>
    /// <param name="beta1">Decay of the first-moment (mean) estimate, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment (uncentred variance) estimate, in [0, 1).</param>
    /// <param name="epsilon">Added to the bias-corrected root of the second moment.</param>
    /// <param name="weightDecay">L2 penalty (coupled) or decoupled decay rate, see <paramref name="decoupled"/>.</param>
    /// <param name="decoupled">True for AdamW (Loshchilov and Hutter): decay the weights directly instead of adding weightDecay * p to the gradient.</param>
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f,
        float weightDecay = 0f, bool decoupled = false)
    {
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Decoupled = decoupled;
    }

    /// <summary>Step size; may be changed between steps (schedules).</summary>
    public float LearningRate
    {
        get => _learningRate;
        set => _learningRate = value > 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(LearningRate), value, "The learning rate must be a positive finite number.");
    }

    private float _learningRate;

    public float Beta1
    {
        get => _beta1;
        init => _beta1 = value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(nameof(Beta1), value, "beta1 must be in [0, 1).");
    }

    private readonly float _beta1;

    public float Beta2
    {
        get => _beta2;
        init => _beta2 = value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(nameof(Beta2), value, "beta2 must be in [0, 1).");
    }

    private readonly float _beta2;

    public float Epsilon
    {
        get => _epsilon;
        init => _epsilon = value > 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(Epsilon), value, "epsilon must be a positive finite number.");
    }

    private readonly float _epsilon;

    public float WeightDecay
    {
        get => _weightDecay;
        init => _weightDecay = value >= 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(WeightDecay), value, "Weight decay must be >= 0.");
    }

    private readonly float _weightDecay;

    /// <summary>True: AdamW's decoupled weight decay; false: Adam's L2 penalty added to the gradient.</summary>
    public bool Decoupled { get; init; }

    /// <summary>Number of steps taken so far (t in the bias correction).</summary>
    public long StepCount => _step;

    /// <summary>Forgets the moments and the step count (the next step starts afresh, for any parameter count).</summary>
    public void Reset()
    {
        _m = _v = null;
        _step = 0;
        _beta1Power = _beta2Power = 1;
    }

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (gradients.Length != parameters.Length)
            throw new ArgumentException($"Adam: {gradients.Length} gradients for {parameters.Length} parameters.", nameof(gradients));
        if (_m is null)
        {
            _m = new float[parameters.Length];
            _v = new float[parameters.Length];
        }
        else if (_m.Length != parameters.Length)
        {
            throw new InvalidOperationException($"This Adam instance holds moments for {_m.Length} parameters and cannot step a network with {parameters.Length}; use one optimizer per network.");
        }

        var (stepSize, inverseRootCorrection2, l2, shrink) = Advance();
        Update(parameters, gradients, _m, _v!, _beta1, _beta2, _epsilon, stepSize, inverseRootCorrection2, l2, shrink);
    }

    /// <summary>
    /// The CUDA path's step (the moments live on the device): advances the step count like <see cref="Step"/> and
    /// writes what its update kernel needs: beta1, beta2, epsilon, the step size, 1/sqrt(bias correction 2), the L2
    /// penalty and the decoupled shrink factor.
    /// </summary>
    internal void NextDeviceStep(Span<float> hyper)
    {
        var (stepSize, inverseRootCorrection2, l2, shrink) = Advance();
        hyper[0] = _beta1;
        hyper[1] = _beta2;
        hyper[2] = _epsilon;
        hyper[3] = stepSize;
        hyper[4] = inverseRootCorrection2;
        hyper[5] = l2;
        hyper[6] = shrink;
    }

    /// <summary>One more step: the bias corrections and the per-step factors both update paths use.</summary>
    private (float StepSize, float InverseRootCorrection2, float L2, float Shrink) Advance()
    {
        _step++;
        _beta1Power *= _beta1;
        _beta2Power *= _beta2;
        double correction1 = 1 - _beta1Power, correction2 = 1 - _beta2Power;
        return ((float)(_learningRate / correction1), (float)(1 / Math.Sqrt(correction2)),
            Decoupled ? 0f : _weightDecay, Decoupled ? 1f - _learningRate * _weightDecay : 1f);
    }

    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float b1, float b2, float eps, float stepSize, float invRootC2, float l2, float shrink)
    {
        float c1 = 1f - b1, c2 = 1f - b2;
        int i = 0;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<float>.Count)
        {
            var pv = MemoryMarshal.Cast<float, Vector<float>>(p);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var mv = MemoryMarshal.Cast<float, Vector<float>>(m);
            var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
            var vb1 = new Vector<float>(b1);
            var vb2 = new Vector<float>(b2);
            var vc1 = new Vector<float>(c1);
            var vc2 = new Vector<float>(c2);
            var veps = new Vector<float>(eps);
            var vstep = new Vector<float>(stepSize);
            var vinv = new Vector<float>(invRootC2);
            var vl2 = new Vector<float>(l2);
            var vshrink = new Vector<float>(shrink);
            for (int k = 0; k < pv.Length; k++)
            {
                var pk = pv[k];
                var gk = gv[k] + vl2 * pk;
                pk *= vshrink;
                var mk = vb1 * mv[k] + vc1 * gk;
                var vk = vb2 * vv[k] + vc2 * gk * gk;
                mv[k] = mk;
                vv[k] = vk;
                pv[k] = pk - vstep * mk / (Vector.SquareRoot(vk) * vinv + veps);
            }
            i = pv.Length * Vector<float>.Count;
        }
        for (; i < p.Length; i++)
        {
            float pk = p[i];
            float gk = g[i] + l2 * pk;
            pk *= shrink;
            float mk = b1 * m[i] + c1 * gk;
            float vk = b2 * v[i] + c2 * gk * gk;
            m[i] = mk;
            v[i] = vk;
            p[i] = pk - stepSize * mk / (MathF.Sqrt(vk) * invRootC2 + eps);
        }
    }
}
