using System;
using System.Collections.Generic;
using NetGen.Examples.Generative;

namespace NetGen.Examples.GpuCheck;

/// <summary>What every adapter below forwards unchanged to the network it wraps.</summary>
internal abstract class JoinedNetwork(INetwork network) : IDisposable
{
    public int Capacity => network.Capacity;
    public Span<float> Parameters => network.Parameters;
    public Span<float> Gradients => network.Gradients;
    public IReadOnlyList<ParameterInfo> Schema => network.Schema;
    public string Summary => network.Summary;
    public Backend ActiveBackend => network.ActiveBackend;
    public void ZeroGradients() => network.ZeroGradients();
    public void Save(string path) => network.Save(path);
    public void Load(string path) => network.Load(path);
    public void ExportOnnx(string path) => network.ExportOnnx(path);
    public void Dispose() => (network as IDisposable)?.Dispose();
}

/// <summary>
/// pix2pix's PatchGAN discriminator (two inputs: image, condition) seen as one input, so the parity harness checks a
/// multi-input network like the others: the input is [batch x image] then [batch x condition], and Backward returns
/// the image gradient followed by the condition gradient (both copied back from the GPU).
/// </summary>
internal sealed class TwoInputPatchDiscriminator : JoinedNetwork, ISingleInputNetwork
{
    private readonly PatchDiscriminator _net;
    private float[] _gradients = Array.Empty<float>();
    private int _batch;

    public TwoInputPatchDiscriminator(NetworkOptions options) : this(new PatchDiscriminator(options)) { }

    private TwoInputPatchDiscriminator(PatchDiscriminator net) : base(net) => _net = net;

    public int InputSize => PatchDiscriminator.ImageSize + PatchDiscriminator.ConditionSize;
    public int OutputSize => PatchDiscriminator.OutputSize;

    private static ReadOnlySpan<float> Image(ReadOnlySpan<float> input, int batch) => input.Slice(0, batch * PatchDiscriminator.ImageSize);

    private static ReadOnlySpan<float> Condition(ReadOnlySpan<float> input, int batch) =>
        input.Slice(batch * PatchDiscriminator.ImageSize, batch * PatchDiscriminator.ConditionSize);

    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false)
    {
        if (training) _batch = batch;
        return _net.Forward(Image(input, batch), Condition(input, batch), batch, training);
    }

    public ReadOnlySpan<float> Backward(ReadOnlySpan<float> outputGradient, bool inputGradient = true)
    {
        var image = _net.Backward(outputGradient, inputGradient);
        if (!inputGradient) return default;
        var condition = _net.ConditionGradient;
        _gradients = new float[image.Length + condition.Length];
        image.CopyTo(_gradients);
        condition.CopyTo(_gradients.AsSpan(image.Length));
        return _gradients.AsSpan(0, _batch * InputSize);
    }

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<int> labels, int batch, Loss loss, Optimizer optimizer)
    {
        return _net.TrainStep(Image(input, batch), Condition(input, batch), labels, batch, loss, optimizer);
    }

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer)
    {
        return _net.TrainStep(Image(input, batch), Condition(input, batch), targets, batch, loss, optimizer);
    }
}

/// <summary>
/// The VAE (two inputs: image, noise; three outputs: logits, mean, log-variance) seen as one input and one output:
/// the output is the three outputs side by side per batch ([batch x 784] then [batch x 20] twice), Backward splits its
/// gradient the same way and returns the image gradient then the noise gradient, and a training step is the loop a
/// VAE trainer runs (zero, forward, an MSE on the joined outputs, backward, optimizer step on the host arrays).
/// </summary>
internal sealed class JoinedVae : JoinedNetwork, ISingleInputNetwork
{
    private readonly Vae _net;
    private float[] _output = Array.Empty<float>(), _gradients = Array.Empty<float>();
    private int _batch;

    public JoinedVae(NetworkOptions options) : this(new Vae(options)) { }

    private JoinedVae(Vae net) : base(net) => _net = net;

    private const int Outputs = Vae.LogitsSize + Vae.MeanSize + Vae.LogVarSize;
    public int InputSize => Vae.ImageSize + Vae.NoiseSize;
    public int OutputSize => Outputs;

    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false)
    {
        if (training) _batch = batch;
        _net.Forward(input.Slice(0, batch * Vae.ImageSize), input.Slice(batch * Vae.ImageSize, batch * Vae.NoiseSize), batch, training);
        _output = new float[batch * Outputs];
        _net.LogitsOutput.CopyTo(_output);
        _net.MeanOutput.CopyTo(_output.AsSpan(batch * Vae.LogitsSize));
        _net.LogVarOutput.CopyTo(_output.AsSpan(batch * (Vae.LogitsSize + Vae.MeanSize)));
        return _output;
    }

    public ReadOnlySpan<float> Backward(ReadOnlySpan<float> outputGradient, bool inputGradient = true)
    {
        int b = _batch;
        var image = _net.Backward(outputGradient.Slice(0, b * Vae.LogitsSize), outputGradient.Slice(b * Vae.LogitsSize, b * Vae.MeanSize),
            outputGradient.Slice(b * (Vae.LogitsSize + Vae.MeanSize), b * Vae.LogVarSize), inputGradient);
        if (!inputGradient) return default;
        _gradients = new float[b * InputSize];
        image.CopyTo(_gradients);
        _net.NoiseGradient.CopyTo(_gradients.AsSpan(b * Vae.ImageSize));
        return _gradients;
    }

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<int> labels, int batch, Loss loss, Optimizer optimizer) =>
        throw new NotSupportedException("The VAE check trains against targets.");

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer)
    {
        _net.ZeroGradients();
        var output = Forward(input, batch, training: true);
        var gradient = new float[batch * Outputs];
        float value = NetGen.Cpu.Losses.MeanSquaredError(output, targets, batch, Outputs, gradient);
        Backward(gradient, inputGradient: false);
        optimizer.Step(_net.Parameters, _net.Gradients);
        return value;
    }
}

/// <summary>
/// <see cref="LstmInitialStateCheck"/> (three inputs: sequence, initial hidden and cell states) seen as one input: the
/// input is [batch x sequence], [batch x h0], [batch x c0] one after another, and Backward returns the three gradients
/// in that order, so the initial states' gradients are compared too.
/// </summary>
internal sealed class JoinedInitialStateLstm : JoinedNetwork, ISingleInputNetwork
{
    private readonly LstmInitialStateCheck _net;
    private float[] _gradients = Array.Empty<float>();
    private int _batch;

    public JoinedInitialStateLstm(NetworkOptions options) : this(new LstmInitialStateCheck(options)) { }

    private JoinedInitialStateLstm(LstmInitialStateCheck net) : base(net) => _net = net;

    public int InputSize => LstmInitialStateCheck.XSize + LstmInitialStateCheck.H0Size + LstmInitialStateCheck.C0Size;
    public int OutputSize => LstmInitialStateCheck.OutputSize;

    private static ReadOnlySpan<float> Part(ReadOnlySpan<float> input, int batch, int part) => part switch
    {
        0 => input.Slice(0, batch * LstmInitialStateCheck.XSize),
        1 => input.Slice(batch * LstmInitialStateCheck.XSize, batch * LstmInitialStateCheck.H0Size),
        _ => input.Slice(batch * (LstmInitialStateCheck.XSize + LstmInitialStateCheck.H0Size), batch * LstmInitialStateCheck.C0Size),
    };

    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false)
    {
        if (training) _batch = batch;
        return _net.Forward(Part(input, batch, 0), Part(input, batch, 1), Part(input, batch, 2), batch, training);
    }

    public ReadOnlySpan<float> Backward(ReadOnlySpan<float> outputGradient, bool inputGradient = true)
    {
        var x = _net.Backward(outputGradient, inputGradient);
        if (!inputGradient) return default;
        ReadOnlySpan<float> h0 = _net.H0Gradient, c0 = _net.C0Gradient;
        _gradients = new float[x.Length + h0.Length + c0.Length];
        x.CopyTo(_gradients);
        h0.CopyTo(_gradients.AsSpan(x.Length));
        c0.CopyTo(_gradients.AsSpan(x.Length + h0.Length));
        return _gradients.AsSpan(0, _batch * InputSize);
    }

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<int> labels, int batch, Loss loss, Optimizer optimizer) =>
        _net.TrainStep(Part(input, batch, 0), Part(input, batch, 1), Part(input, batch, 2), labels, batch, loss, optimizer);

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer) =>
        _net.TrainStep(Part(input, batch, 0), Part(input, batch, 1), Part(input, batch, 2), targets, batch, loss, optimizer);
}
