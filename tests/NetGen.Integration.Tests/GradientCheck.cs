using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>
/// Central finite differences against the generated backward pass. The loss is a fixed random
/// projection of the output, L = sum_i r_i * y_i (so dL/dy = r), accumulated in double. Kernels run
/// in float32, so the comparison is |analytic - numeric| &lt;= atol + rtol * max(|analytic|, |numeric|).
/// Where the one-sided slopes f(x+e)-f(x) and f(x)-f(x-e) disagree by more than atol/e, the
/// perturbation crossed a kink (ReLU at 0, a max changing its argmax) and the function is not
/// differentiable within e there: such points are skipped, counted, and may be at most 2% of checks.
/// </summary>
internal static class GradientCheck
{
    /// <param name="BeforeForward">Runs before every Forward (for example to replay the same Dropout masks).</param>
    public sealed record Options(float Epsilon = 1e-2f, double Atol = 2e-3, double Rtol = 2e-2, int MaxChecks = 200, int Batch = 2, ulong Seed = 7,
        Action? BeforeForward = null);

    /// <summary>
    /// Frozen networks: Backward returns the same input gradient as unfrozen and leaves every parameter gradient at zero
    /// (a GAN freezes its discriminator while the generator trains through it).
    /// </summary>
    /// <param name="freeze">Sets the network's Frozen property (generated per class, not on the interfaces).</param>
    public static void Frozen(ISingleInputNetwork net, Action<bool> freeze, int batch = 2)
    {
        var x = Enumerable.Range(0, batch * net.InputSize).Select(i => MathF.Sin(0.3f * i)).ToArray();
        var dy = Enumerable.Range(0, batch * net.OutputSize).Select(i => MathF.Cos(0.7f * i)).ToArray();
        net.ZeroGradients();
        freeze(false);
        net.Forward(x, batch, training: true);
        var expected = net.Backward(dy).ToArray();
        Assert.Contains(net.Gradients.ToArray(), g => g != 0f);

        net.ZeroGradients();
        freeze(true);
        net.Forward(x, batch, training: true);
        Assert.Equal(expected, net.Backward(dy).ToArray());
        Assert.All(net.Gradients.ToArray(), g => Assert.Equal(0f, g));
    }

    public static void Network(ISingleInputNetwork net, Options? options = null)
    {
        options ??= new Options();
        var rng = new Rng(options.Seed);
        int batch = options.Batch;
        var input = new float[batch * net.InputSize];
        for (int i = 0; i < input.Length; i++) input[i] = rng.NextUniform(-1f, 1f);
        var projection = new float[batch * net.OutputSize];
        for (int i = 0; i < projection.Length; i++) projection[i] = rng.NextUniform(-1f, 1f);

        double Loss()
        {
            options.BeforeForward?.Invoke();
            var y = net.Forward(input, batch, training: true);
            double sum = 0;
            for (int i = 0; i < projection.Length; i++) sum += (double)projection[i] * y[i];
            return sum;
        }

        // Analytic gradients.
        net.ZeroGradients();
        options.BeforeForward?.Invoke();
        net.Forward(input, batch, training: true);
        var inputGradient = net.Backward(projection, inputGradient: true).ToArray();
        var parameterGradient = net.Gradients.ToArray();
        Assert.Equal(input.Length, inputGradient.Length);

        var report = new Report(net.GetType().Name);
        foreach (int i in Sample(net.Parameters.Length, options.MaxChecks, ref rng))
            Check(Loss, net.Parameters, i, parameterGradient[i], "parameter " + NameOf(net, i), options, report);
        foreach (int i in Sample(input.Length, options.MaxChecks, ref rng))
            Check(Loss, input, i, inputGradient[i], "input[" + i + "]", options, report);
        report.AssertClean();
    }

    /// <summary>Outcome of a gradient check: mismatches fail; kinks are counted and bounded.</summary>
    public sealed class Report(string name)
    {
        public List<string> Failures { get; } = new();
        public List<string> Kinks { get; } = new();
        public int Checks { get; set; }

        public void AssertClean()
        {
            Assert.True(Checks > 0, name + ": nothing was checked");
            Assert.True(Failures.Count == 0, name + ": " + Failures.Count + " of " + Checks + " gradients mismatch:\n" + string.Join("\n", Failures));
            Assert.True(Kinks.Count <= Checks / 50, name + ": " + Kinks.Count + " of " + Checks + " checks hit a kink (more than 2%):\n" + string.Join("\n", Kinks));
        }
    }

    /// <summary>Perturbs values[i] by ±epsilon and compares the central difference with the analytic gradient.</summary>
    public static void Check(Func<double> loss, Span<float> values, int i, double analytic, string what, Options options, Report report)
    {
        float saved = values[i];
        double center = loss();
        values[i] = saved + options.Epsilon;
        double plus = loss();
        values[i] = saved - options.Epsilon;
        double minus = loss();
        values[i] = saved;
        report.Checks++;
        double numeric = (plus - minus) / (2 * options.Epsilon);
        double tolerance = options.Atol + options.Rtol * Math.Max(Math.Abs(analytic), Math.Abs(numeric));
        if (Math.Abs(analytic - numeric) <= tolerance) return;
        double forward = (plus - center) / options.Epsilon, backward = (center - minus) / options.Epsilon;
        string line = $"  {what}: backward {analytic:G6}, finite difference {numeric:G6} (one-sided {backward:G6} / {forward:G6})";
        if (Math.Abs(forward - backward) > options.Atol) report.Kinks.Add(line);
        else report.Failures.Add(line);
    }

    public static string NameOf(INetwork net, int index)
    {
        foreach (var p in net.Schema)
            if (index >= p.Offset && index < p.Offset + p.Length) return p.Name + "[" + (index - p.Offset) + "]";
        return "#" + index;
    }

    public static IEnumerable<int> Sample(int length, int max, ref Rng rng)
    {
        var indices = new int[length];
        for (int i = 0; i < length; i++) indices[i] = i;
        if (length > max)
        {
            rng.Shuffle(indices);
            Array.Resize(ref indices, max);
            Array.Sort(indices);
        }
        return indices;
    }
}
