using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace NetGen;

/// <summary>Updates a network's flat parameter array from its flat gradient array.</summary>
public abstract class Optimizer
{
    /// <summary>Applies one update. Must not allocate after the first call.</summary>
    public abstract void Step(Span<float> parameters, ReadOnlySpan<float> gradients);
}

/// <summary>
/// Stochastic gradient descent with momentum and L2 weight decay, as PyTorch's torch.optim.SGD
/// (dampening 0, not Nesterov): g = grad + weightDecay * p; v = momentum * v + g; p -= lr * v.
/// The velocity buffer is allocated on the first step and bound to that parameter count.
/// </summary>
public sealed class Sgd : Optimizer
{
    private float[]? _velocity;

    public Sgd(float learningRate, float momentum = 0f, float weightDecay = 0f)
    {
        LearningRate = learningRate;
        Momentum = momentum;
        WeightDecay = weightDecay;
    }

    /// <summary>Step size; may be changed between steps (schedules).</summary>
    public float LearningRate
    {
        get => _learningRate;
        set => _learningRate = value > 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(LearningRate), value, "The learning rate must be a positive finite number.");
    }

    private float _learningRate;

    public float Momentum
    {
        get => _momentum;
        init => _momentum = value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(nameof(Momentum), value, "Momentum must be in [0, 1).");
    }

    private readonly float _momentum;

    public float WeightDecay
    {
        get => _weightDecay;
        init => _weightDecay = value >= 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(WeightDecay), value, "Weight decay must be >= 0.");
    }

    private readonly float _weightDecay;

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (gradients.Length != parameters.Length)
            throw new ArgumentException($"Sgd: {gradients.Length} gradients for {parameters.Length} parameters.", nameof(gradients));
        float lr = _learningRate, wd = _weightDecay, mu = _momentum;
        if (mu == 0f)
        {
            Update(parameters, gradients, default, lr, wd, 0f);
            return;
        }
        _velocity ??= new float[parameters.Length];
        if (_velocity.Length != parameters.Length)
            throw new InvalidOperationException($"This Sgd instance holds momentum for {_velocity.Length} parameters and cannot step a network with {parameters.Length}; use one optimizer per network.");
        Update(parameters, gradients, _velocity, lr, wd, mu);
    }

    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> v, float lr, float wd, float mu)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<float>.Count)
        {
            var pv = MemoryMarshal.Cast<float, Vector<float>>(p);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var vlr = new Vector<float>(lr);
            var vwd = new Vector<float>(wd);
            var vmu = new Vector<float>(mu);
            if (mu == 0f)
            {
                for (int k = 0; k < pv.Length; k++) pv[k] -= vlr * (gv[k] + vwd * pv[k]);
            }
            else
            {
                var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
                for (int k = 0; k < pv.Length; k++)
                {
                    // torch.optim.SGD's order (and the scalar tail's): grad = g + wd p, then v = mu v + grad
                    vv[k] = vmu * vv[k] + (gv[k] + vwd * pv[k]);
                    pv[k] -= vlr * vv[k];
                }
            }
            i = pv.Length * Vector<float>.Count;
        }
        for (; i < p.Length; i++)
        {
            float grad = g[i] + wd * p[i];
            if (mu != 0f)
            {
                v[i] = mu * v[i] + grad;
                grad = v[i];
            }
            p[i] -= lr * grad;
        }
    }
}
