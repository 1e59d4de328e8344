using System;
using System.Runtime.CompilerServices;
using NetGen.Cpu;
using NetGen.Cuda.Native;

namespace NetGen.Cuda;

/// <summary>
/// The loss and optimizer half of a CUDA training step: label/target and loss buffers, optimizer state on the device,
/// and the launches of the generator's loss and update kernels. Hyper-parameters live in a small device buffer that
/// is refreshed before every step, so a captured step graph stays valid when the learning rate changes.
/// </summary>
public sealed unsafe class CudaTrainer : IDisposable
{
    private const int HyperCount = 8;
    private readonly CudaContext _context;
    private readonly int _parameterCount, _outputSize;
    private readonly DeviceBuffer _targets, _labels, _rowLoss, _loss, _hyper;
    private readonly float[] _hostHyper = new float[HyperCount];
    private readonly float[] _hostLoss = new float[1];
    private Optimizer? _stateOwner;
    private DeviceBuffer? _state1, _state2;
    // Looked up here, not while a step is being captured: with lazy module loading (CUDA 12.2+) the lookup loads the
    // kernel, which drivers before 12.3 do not allow during a capture.
    private readonly IntPtr _xentLabels, _xentTargets, _mse, _bce, _l1, _meanRows, _sgd, _adam;

    public CudaTrainer(CudaContext context, int parameterCount, int capacity, int outputSize)
    {
        _context = context;
        _parameterCount = parameterCount;
        _outputSize = outputSize;
        _targets = DeviceBuffer.Allocate((long)capacity * outputSize);
        _labels = DeviceBuffer.Allocate(capacity);
        _rowLoss = DeviceBuffer.Allocate(capacity);
        _loss = DeviceBuffer.Allocate(1);
        _hyper = DeviceBuffer.Allocate(HyperCount);
        _xentLabels = context.Kernel("netgen_softmax_xent_labels");
        _xentTargets = context.Kernel("netgen_softmax_xent_targets");
        _mse = context.Kernel("netgen_mse");
        _bce = context.Kernel("netgen_bce_logits");
        _l1 = context.Kernel("netgen_l1");
        _meanRows = context.Kernel("netgen_mean_rows");
        _sgd = context.Kernel("netgen_sgd");
        _adam = context.Kernel("netgen_adam");
    }

    /// <summary>What a captured step depends on besides the batch and the buffers: the loss kernel and the optimizer kernel (0-9).</summary>
    public static int Kind(Loss loss, bool labels, Optimizer optimizer) => 2 * LossKernel(loss, labels) + (optimizer is Adam ? 1 : 0);

    /// <summary>
    /// The loss kernel of a loss: 0 softmax cross-entropy with labels, 1 with targets, 2 MSE, 3 BCE with logits, 4 L1;
    /// -1 when it has none.
    /// </summary>
    private static int LossKernel(Loss loss, bool labels)
    {
        if (labels) return ReferenceEquals(loss, Loss.SoftmaxCrossEntropy) ? 0 : -1;
        if (ReferenceEquals(loss, Loss.SoftmaxCrossEntropy)) return 1;
        if (ReferenceEquals(loss, Loss.MeanSquaredError)) return 2;
        if (ReferenceEquals(loss, Loss.BinaryCrossEntropyWithLogits)) return 3;
        return ReferenceEquals(loss, Loss.L1) ? 4 : -1;
    }

    /// <summary>Changes whenever the optimizer state buffers are replaced: graphs captured before hold the old ones.</summary>
    public int Version { get; private set; }

    /// <summary>Throws NotSupportedException for a loss or optimizer without a CUDA kernel (before anything is queued).</summary>
    public static void CheckSupported(Loss loss, bool labels, Optimizer optimizer, string network)
    {
        if (LossKernel(loss, labels) < 0)
            throw new NotSupportedException($"{network} on Backend.Cuda: the {loss.Name} loss with {(labels ? "class labels" : "float targets")} has no CUDA kernel " +
                "(SoftmaxCrossEntropy with labels or targets, MeanSquaredError, BinaryCrossEntropyWithLogits and L1 with targets run on CUDA); " +
                "train this network on Backend.Cpu. See docs/gpu.md.");
        if (optimizer is not (Sgd or Adam))
            throw new NotSupportedException($"{network} on Backend.Cuda: {optimizer.GetType().Name} has no CUDA update kernel (Sgd and Adam do).");
    }

    /// <summary>Host side of a step, before the step graph is launched: copies labels and hyper-parameters in.</summary>
    public void Begin(ReadOnlySpan<int> labels, int batch, int classes)
    {
        Losses.CheckLabels(labels, batch, classes); // the kernel would read outside the row for a bad label
        _context.CopyToDevice((int*)_labels.Pointer, labels.Slice(0, batch));
    }

    public void Begin(ReadOnlySpan<float> targets, int batch)
    {
        Guard.AtLeast(targets.Length, (long)batch * _outputSize, nameof(targets));
        _context.CopyToDevice(_targets.Pointer, targets.Slice(0, batch * _outputSize));
    }

    /// <summary>Copies the optimizer's hyper-parameters for this step in (Adam advances its step count here).</summary>
    public void BeginUpdate(Optimizer optimizer)
    {
        if (!ReferenceEquals(optimizer, _stateOwner))
        {
            // A new optimizer starts from zero state, as a new optimizer object does on the CPU.
            _state1?.Dispose();
            _state2?.Dispose();
            _state1 = _state2 = null;
            _stateOwner = optimizer;
            Version++;
        }
        switch (optimizer)
        {
            case Sgd sgd:
                _hostHyper[0] = sgd.LearningRate;
                _hostHyper[1] = sgd.Momentum;
                _hostHyper[2] = sgd.WeightDecay;
                if (sgd.Momentum != 0f && _state1 is null) { _state1 = Zeroed(_parameterCount); Version++; }
                break;
            case Adam adam:
                adam.NextDeviceStep(_hostHyper);
                if (_state1 is null) { _state1 = Zeroed(_parameterCount); _state2 = Zeroed(_parameterCount); Version++; }
                break;
        }
        _context.CopyToDevice(_hyper.Pointer, _hostHyper);
    }

    private DeviceBuffer Zeroed(int count)
    {
        var buffer = DeviceBuffer.Allocate(count);
        _context.Zero(buffer.Pointer, count);
        return buffer;
    }

    /// <summary>Queues the loss kernels: dOutput and the per-row losses, then their mean into the loss scalar.</summary>
    public void QueueLoss(Loss loss, bool labels, nint outputAddress, nint outputGradientAddress, int batch)
    {
        float* output = (float*)outputAddress, outputGradient = (float*)outputGradientAddress;
        int features = _outputSize;
        float* targets = _targets.Pointer, rowLoss = _rowLoss.Pointer, lossValue = _loss.Pointer;
        int* labelPointer = (int*)_labels.Pointer;
        void** args = stackalloc void*[6];
        args[0] = &output; args[2] = &outputGradient; args[3] = &rowLoss; args[4] = &batch; args[5] = &features;
        if (labels) args[1] = &labelPointer;
        else args[1] = &targets;
        int kernel = LossKernel(loss, labels);
        var (function, name) = kernel switch
        {
            0 => (_xentLabels, "netgen_softmax_xent_labels"),
            1 => (_xentTargets, "netgen_softmax_xent_targets"),
            2 => (_mse, "netgen_mse"),
            3 => (_bce, "netgen_bce_logits"),
            _ => (_l1, "netgen_l1"),
        };
        _context.Launch(function, batch, args, name);
        // The mean: per-row sums divided by the batch (cross entropy) or by batch*features (the elementwise losses).
        float scale = 1f / (kernel >= 2 ? (float)batch * features : batch);
        args[0] = &lossValue; args[1] = &rowLoss; args[2] = &batch; args[3] = &scale;
        _context.Launch(_meanRows, 1, args, "netgen_mean_rows");
    }

    /// <summary>Queues the update kernel of the optimizer passed to the last <see cref="BeginUpdate"/>.</summary>
    public void QueueUpdate(Optimizer optimizer, nint parameterAddress, nint gradientAddress)
    {
        float* parameters = (float*)parameterAddress, gradients = (float*)gradientAddress;
        int n = _parameterCount;
        float* hyper = _hyper.Pointer;
        float* s1 = _state1 is null ? null : _state1.Pointer, s2 = _state2 is null ? null : _state2.Pointer;
        void** args = stackalloc void*[6];
        if (optimizer is Sgd)
        {
            args[0] = &parameters; args[1] = &gradients; args[2] = &s1; args[3] = &hyper; args[4] = &n;
            _context.Launch(_sgd, n, args, "netgen_sgd");
        }
        else
        {
            args[0] = &parameters; args[1] = &gradients; args[2] = &s1; args[3] = &s2; args[4] = &hyper; args[5] = &n;
            _context.Launch(_adam, n, args, "netgen_adam");
        }
    }

    /// <summary>Waits for the stream and returns the step's mean loss (the one float a step copies back).</summary>
    public float ReadLoss()
    {
        _context.CopyToHost(_hostLoss, _loss.Pointer);
        return _hostLoss[0];
    }

    public void Dispose()
    {
        _targets.Dispose();
        _labels.Dispose();
        _rowLoss.Dispose();
        _loss.Dispose();
        _hyper.Dispose();
        _state1?.Dispose();
        _state2?.Dispose();
    }
}
