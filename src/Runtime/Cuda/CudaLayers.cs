using System;
using System.Collections.Generic;
using NetGen.Cpu;
using NetGen.Cuda.Native;

namespace NetGen.Cuda;

// The cuDNN / cuBLAS side of the layers the generated CUDA code calls. Each object is made once per layer at network
// construction; Prepare(batch) makes the batch-sized descriptors and (for convolutions) searches the algorithms, once
// per batch size and before any graph capture; the other methods only queue work on the context's stream. Pointers
// are device pointers into the network's arenas; shapes are NCHW fp32 as on the CPU, so the same offsets serve both.

/// <summary>
/// A Conv2d or ConvTranspose2d layer on cuDNN (cross-correlation, bias added with cudnnAddTensor). cuDNN sees one
/// convolution x [N, C, H, W] -> y [N, K, P, Q] with filter [K, C, k, k]: for Conv2d that is the layer itself (PyTorch's
/// OIHW weights); for ConvTranspose2d it is the convolution the transposed one is the gradient of, x = the layer's
/// output and y = its input, whose filter layout [in, out, k, k] is PyTorch's ConvTranspose2d weight. The transposed
/// layer's forward pass is then cuDNN's backward-data, its backward-data is cuDNN's forward, and its weight gradient
/// is cuDNN's backward-filter with x and dy in each other's places.
/// </summary>
public sealed unsafe class CudaConv2d : IDisposable
{
    private readonly CudaContext _context;
    private readonly int _c, _h, _w, _k, _p, _q, _kernel;
    private readonly bool _transposed;
    private readonly string _layer;
    private readonly CudnnDescriptor _filter, _convolution, _bias;
    private readonly Dictionary<int, Plan> _plans = new();

    private sealed class Plan
    {
        public required CudnnDescriptor X, Y;
        public Choice Forward, BackwardData, BackwardFilter;
    }

    /// <summary>A direction's algorithm and the math type it was measured with (cuDNN 7.4+ needs both).</summary>
    internal readonly record struct Choice(int Algorithm, int MathType);

    private int _mathType; // what the convolution descriptor is set to now

    public CudaConv2d(CudaContext context, Conv2dGeometry g)
        : this(context, g.InChannels, g.InHeight, g.InWidth, g.OutChannels, g.OutHeight, g.OutWidth, g.Kernel, g.Stride, g.Padding, transposed: false, g.ToString())
    {
    }

    /// <summary>A ConvTranspose2d layer: cuDNN's convolution runs from the layer's output shape to its input shape.</summary>
    public static CudaConv2d Transposed(CudaContext context, ConvTranspose2dGeometry g) =>
        new(context, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.InHeight, g.InWidth, g.Kernel, g.Stride, g.Padding, transposed: true, g.ToString());

    private CudaConv2d(CudaContext context, int c, int h, int w, int k, int p, int q, int kernel, int stride, int padding, bool transposed, string layer)
    {
        _context = context;
        (_c, _h, _w, _k, _p, _q, _kernel, _transposed, _layer) = (c, h, w, k, p, q, kernel, transposed, layer);
        _filter = CudnnDescriptor.Create(CudnnDescriptor.Kind.Filter);
        Cudnn.Check(Cudnn.cudnnSetFilter4dDescriptor(_filter.Value, Cudnn.DataFloat, Cudnn.TensorNchw, k, c, kernel, kernel), "cudnnSetFilter4dDescriptor");
        _convolution = CudnnDescriptor.Create(CudnnDescriptor.Kind.Convolution);
        Cudnn.Check(Cudnn.cudnnSetConvolution2dDescriptor(_convolution.Value, padding, padding, stride, stride, 1, 1, Cudnn.CrossCorrelation, Cudnn.DataFloat), "cudnnSetConvolution2dDescriptor");
        _mathType = -1;
        UseMathType(context.ConvolutionMathType);
        _bias = CudnnDescriptor.Tensor(1, transposed ? c : k, 1, 1); // one per output channel of the layer
    }

    /// <summary>The algorithms chosen for a prepared batch size, for logs: "fwd 1, bwd-data 1, bwd-filter 0" (cuDNN's directions).</summary>
    public string Algorithms(int batch) => _plans.TryGetValue(batch, out var p)
        ? $"fwd {Describe(p.Forward)}, bwd-data {Describe(p.BackwardData)}, bwd-filter {Describe(p.BackwardFilter)}{(_transposed ? " (transposed: the layer's forward is cuDNN's bwd-data)" : "")}"
        : "not prepared";

    private static string Describe(Choice c) => c.Algorithm + (c.MathType == Cudnn.FmaMath ? "" : c.MathType == Cudnn.DefaultMath ? " (default math)" : " (tensor op math)");

    /// <summary>Sets the descriptor's math type (host-side only, so also legal while a graph is being captured).</summary>
    private void UseMathType(int mathType)
    {
        if (mathType == _mathType) return;
        Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(_convolution.Value, mathType), "cudnnSetConvolutionMathType");
        _mathType = mathType;
    }

    /// <summary>
    /// Descriptors for <paramref name="batch"/> and the fastest algorithm of each direction whose workspace fits the
    /// context's limit, measured by cudnnFind*Ex on scratch buffers (the arenas are not touched).
    /// </summary>
    public void Prepare(int batch)
    {
        if (_plans.ContainsKey(batch)) return;
        var plan = new Plan
        {
            X = CudnnDescriptor.Tensor(batch, _c, _h, _w),
            Y = CudnnDescriptor.Tensor(batch, _k, _p, _q),
        };
        int n, c, h, w;
        Cudnn.Check(Cudnn.cudnnGetConvolution2dForwardOutputDim(_convolution.Value, plan.X.Value, _filter.Value, &n, &c, &h, &w), "cudnnGetConvolution2dForwardOutputDim");
        if (n != batch || c != _k || h != _p || w != _q)
            throw new InvalidOperationException($"cuDNN computes a {n}x{c}x{h}x{w} convolution output for {_layer}; NetGen planned {batch}x{_k}x{_p}x{_q}.");
        using var x = DeviceBuffer.Allocate((long)batch * _c * _h * _w);
        using var y = DeviceBuffer.Allocate((long)batch * _k * _p * _q);
        using var wt = DeviceBuffer.Allocate((long)_k * _c * _kernel * _kernel);
        _context.Zero(x.Pointer, x.Count);
        _context.Zero(y.Pointer, y.Count);
        _context.Zero(wt.Pointer, wt.Count);
        UseMathType(_context.ConvolutionMathType); // every search under the math the options allow
        var results = stackalloc Cudnn.AlgorithmPerf[8];
        int returned;
        nuint limit = (nuint)_context.WorkspaceBytes;
        Cudnn.Check(Cudnn.cudnnFindConvolutionForwardAlgorithmEx(_context.Dnn, plan.X.Value, x.Pointer, _filter.Value, wt.Pointer, _convolution.Value,
            plan.Y.Value, y.Pointer, Cudnn.ForwardAlgorithmCount, &returned, results, _context.Workspace, limit), "cudnnFindConvolutionForwardAlgorithmEx");
        plan.Forward = Best(results, returned, "forward", batch);
        Cudnn.Check(Cudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(_context.Dnn, _filter.Value, wt.Pointer, plan.Y.Value, y.Pointer, _convolution.Value,
            plan.X.Value, x.Pointer, Cudnn.BackwardDataAlgorithmCount, &returned, results, _context.Workspace, limit), "cudnnFindConvolutionBackwardDataAlgorithmEx");
        plan.BackwardData = Best(results, returned, "backward data", batch);
        Cudnn.Check(Cudnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(_context.Dnn, plan.X.Value, x.Pointer, plan.Y.Value, y.Pointer, _convolution.Value,
            _filter.Value, wt.Pointer, Cudnn.BackwardFilterAlgorithmCount, &returned, results, _context.Workspace, limit), "cudnnFindConvolutionBackwardFilterAlgorithmEx");
        plan.BackwardFilter = Best(results, returned, "backward filter", batch);
        _context.Synchronize();
        _plans[batch] = plan;
    }

    /// <summary>
    /// cudnnFind returns results fastest first; the first that succeeded within the workspace wins, with the math type
    /// cuDNN reports for it when TF32 is allowed (as PyTorch does), and FMA math (exact fp32) when it is not.
    /// </summary>
    internal static Choice Best(Cudnn.AlgorithmPerf* results, int count, string direction, long workspaceBytes, string layer, bool allowTf32)
    {
        for (int i = 0; i < count; i++)
            if (results[i].Status == 0 && (long)results[i].Memory <= workspaceBytes)
                return new Choice(results[i].Algorithm, allowTf32 ? results[i].MathType : Cudnn.FmaMath);
        throw new InvalidOperationException($"cuDNN found no {direction} algorithm for {layer} within a {workspaceBytes}-byte workspace; raise NetworkOptions.CudaWorkspaceBytes.");
    }

    private Choice Best(Cudnn.AlgorithmPerf* results, int count, string direction, int batch) =>
        Best(results, count, direction, _context.WorkspaceBytes, $"{_layer} at batch {batch}", _context.AllowTf32);

    private Plan For(int batch) => _plans.TryGetValue(batch, out var p) ? p : throw new InvalidOperationException($"{_layer}: batch {batch} was not prepared.");

    // ------------------------------------------------------------ the layer's passes

    /// <summary>y = conv(x, w) + b, or for a transposed layer y = convT(x, w) + b. A layer without bias passes 0.</summary>
    public void Forward(int batch, nint y, nint x, nint weight, nint bias)
    {
        var p = For(batch);
        if (_transposed) CudnnBackwardData(p, y, x, weight, accumulate: false);
        else CudnnForward(p, y, x, weight, accumulate: false);
        if (bias != 0)
        {
            float one = 1f;
            Cudnn.Check(Cudnn.cudnnAddTensor(_context.Dnn, &one, _bias.Value, (float*)bias, &one, (_transposed ? p.X : p.Y).Value, (float*)y), "cudnnAddTensor(bias)");
        }
    }

    /// <summary>dW += the weight gradient of (x, dy); db += sums of dy per output channel. Always accumulates.</summary>
    public void BackwardWeights(int batch, nint weightGradient, nint biasGradient, nint dy, nint x)
    {
        var p = For(batch);
        if (_transposed) CudnnBackwardFilter(p, weightGradient, x: dy, dy: x);
        else CudnnBackwardFilter(p, weightGradient, x, dy);
        if (biasGradient != 0)
        {
            float one = 1f;
            Cudnn.Check(Cudnn.cudnnConvolutionBackwardBias(_context.Dnn, &one, (_transposed ? p.X : p.Y).Value, (float*)dy, &one, _bias.Value, (float*)biasGradient),
                "cudnnConvolutionBackwardBias");
        }
    }

    /// <summary>dx (=|+=) the input gradient of dy.</summary>
    public void BackwardData(int batch, nint dx, nint dy, nint weight, bool accumulate)
    {
        var p = For(batch);
        if (_transposed) CudnnForward(p, dx, dy, weight, accumulate);
        else CudnnBackwardData(p, dx, dy, weight, accumulate);
    }

    // ------------------------------------------------------------ cuDNN's three directions (x, y in cuDNN's roles)

    private void CudnnForward(Plan p, nint y, nint x, nint weight, bool accumulate)
    {
        float one = 1f, beta = accumulate ? 1f : 0f;
        UseMathType(p.Forward.MathType);
        Cudnn.Check(Cudnn.cudnnConvolutionForward(_context.Dnn, &one, p.X.Value, (float*)x, _filter.Value, (float*)weight, _convolution.Value, p.Forward.Algorithm,
            _context.Workspace, (nuint)_context.WorkspaceBytes, &beta, p.Y.Value, (float*)y), "cudnnConvolutionForward");
    }

    private void CudnnBackwardData(Plan p, nint dx, nint dy, nint weight, bool accumulate)
    {
        float one = 1f, beta = accumulate ? 1f : 0f;
        UseMathType(p.BackwardData.MathType);
        Cudnn.Check(Cudnn.cudnnConvolutionBackwardData(_context.Dnn, &one, _filter.Value, (float*)weight, p.Y.Value, (float*)dy, _convolution.Value, p.BackwardData.Algorithm,
            _context.Workspace, (nuint)_context.WorkspaceBytes, &beta, p.X.Value, (float*)dx), "cudnnConvolutionBackwardData");
    }

    private void CudnnBackwardFilter(Plan p, nint weightGradient, nint x, nint dy)
    {
        float one = 1f;
        UseMathType(p.BackwardFilter.MathType);
        Cudnn.Check(Cudnn.cudnnConvolutionBackwardFilter(_context.Dnn, &one, p.X.Value, (float*)x, p.Y.Value, (float*)dy, _convolution.Value, p.BackwardFilter.Algorithm,
            _context.Workspace, (nuint)_context.WorkspaceBytes, &one, _filter.Value, (float*)weightGradient), "cudnnConvolutionBackwardFilter");
    }

    public void Dispose()
    {
        foreach (var p in _plans.Values) { p.X.Dispose(); p.Y.Dispose(); }
        _filter.Dispose();
        _convolution.Dispose();
        _bias.Dispose();
    }
}

/// <summary>
/// BatchNorm on cuDNN's spatial mode: batch statistics in training (running statistics updated with the momentum as
/// cuDNN's exponential average factor; cuDNN, like PyTorch and the CPU path, uses the unbiased variance for them),
/// running statistics in inference.
/// </summary>
public sealed unsafe class CudaBatchNorm : IDisposable
{
    private readonly CudaContext _context;
    private readonly int _channels, _spatial;
    private readonly double _momentum, _epsilon;
    private readonly Dictionary<int, (CudnnDescriptor X, CudnnDescriptor Parameters)> _plans = new();

    public CudaBatchNorm(CudaContext context, int channels, int spatial, double momentum, double epsilon)
    {
        _context = context;
        _channels = channels;
        _spatial = spatial;
        _momentum = momentum;
        _epsilon = epsilon; // as declared: CUDNN_BN_MIN_EPSILON is 0.0 since cuDNN 8 (it was 1e-5 up to cuDNN 7)
    }

    public void Prepare(int batch)
    {
        if (_plans.ContainsKey(batch)) return;
        var x = CudnnDescriptor.Tensor(batch, _channels, _spatial, 1);
        var p = CudnnDescriptor.Create(CudnnDescriptor.Kind.Tensor);
        Cudnn.Check(Cudnn.cudnnDeriveBNTensorDescriptor(p.Value, x.Value, Cudnn.BatchNormSpatial), "cudnnDeriveBNTensorDescriptor");
        _plans[batch] = (x, p);
    }

    /// <param name="saved">2 x channels: the batch mean, then 1/sqrt(var + eps), kept for backward.</param>
    public void ForwardTraining(int batch, nint y, nint x, nint gamma, nint beta, nint runningMean, nint runningVariance, nint saved)
    {
        float* y_ = (float*)y, x_ = (float*)x, gamma_ = (float*)gamma, beta_ = (float*)beta, runningMean_ = (float*)runningMean, runningVariance_ = (float*)runningVariance, saved_ = (float*)saved;
        var (xd, pd) = _plans[batch];
        float one = 1f, zero = 0f;
        Cudnn.Check(Cudnn.cudnnBatchNormalizationForwardTraining(_context.Dnn, Cudnn.BatchNormSpatial, &one, &zero, xd.Value, x_, xd.Value, y_, pd.Value,
            gamma_, beta_, _momentum, runningMean_, runningVariance_, _epsilon, saved_, saved_ + _channels), "cudnnBatchNormalizationForwardTraining");
    }

    public void ForwardInference(int batch, nint y, nint x, nint gamma, nint beta, nint runningMean, nint runningVariance)
    {
        float* y_ = (float*)y, x_ = (float*)x, gamma_ = (float*)gamma, beta_ = (float*)beta, runningMean_ = (float*)runningMean, runningVariance_ = (float*)runningVariance;
        var (xd, pd) = _plans[batch];
        float one = 1f, zero = 0f;
        Cudnn.Check(Cudnn.cudnnBatchNormalizationForwardInference(_context.Dnn, Cudnn.BatchNormSpatial, &one, &zero, xd.Value, x_, xd.Value, y_, pd.Value,
            gamma_, beta_, runningMean_, runningVariance_, _epsilon), "cudnnBatchNormalizationForwardInference");
    }

    /// <summary>dx (overwritten, or accumulated with <paramref name="accumulate"/>); dgamma and dbeta accumulate unless <paramref name="frozen"/>.</summary>
    public void Backward(int batch, nint dx, nint dy, nint x, nint gamma, nint gammaGradient, nint betaGradient, nint saved, bool accumulate, bool frozen)
    {
        float* dx_ = (float*)dx, dy_ = (float*)dy, x_ = (float*)x, gamma_ = (float*)gamma, gammaGradient_ = (float*)gammaGradient, betaGradient_ = (float*)betaGradient, saved_ = (float*)saved;
        var (xd, pd) = _plans[batch];
        float one = 1f, beta = accumulate ? 1f : 0f, alphaParameters = frozen ? 0f : 1f;
        Cudnn.Check(Cudnn.cudnnBatchNormalizationBackward(_context.Dnn, Cudnn.BatchNormSpatial, &one, &beta, &alphaParameters, &one, xd.Value, x_, xd.Value, dy_, xd.Value, dx_,
            pd.Value, gamma_, gammaGradient_, betaGradient_, _epsilon, saved_, saved_ + _channels), "cudnnBatchNormalizationBackward");
    }

    public void Dispose()
    {
        foreach (var (x, p) in _plans.Values) { x.Dispose(); p.Dispose(); }
    }
}

/// <summary>Dense (fully connected) layers on cuBLAS, with PyTorch's [out, in] row-major weights.</summary>
public static class CudaDense
{
    /// <summary>y[rows, out] = x[rows, in] W^T (the bias is added by the generated bias kernel).</summary>
    public static void Forward(CudaContext context, nint y, nint x, nint weight, int rows, int inFeatures, int outFeatures) =>
        context.Gemm(false, true, rows, outFeatures, inFeatures, x, weight, y, accumulate: false, $"cublasSgemm(dense forward {rows}x{inFeatures}->{outFeatures})");

    /// <summary>dW[out, in] += dy^T x.</summary>
    public static void BackwardWeights(CudaContext context, nint weightGradient, nint dy, nint x, int rows, int inFeatures, int outFeatures) =>
        context.Gemm(true, false, outFeatures, inFeatures, rows, dy, x, weightGradient, accumulate: true, $"cublasSgemm(dense weight gradient {rows}x{inFeatures}->{outFeatures})");

    /// <summary>dx[rows, in] = (or +=) dy W.</summary>
    public static void BackwardData(CudaContext context, nint dx, nint dy, nint weight, int rows, int inFeatures, int outFeatures, bool accumulate) =>
        context.Gemm(false, false, rows, inFeatures, outFeatures, dy, weight, dx, accumulate, $"cublasSgemm(dense input gradient {rows}x{inFeatures}->{outFeatures})");
}
