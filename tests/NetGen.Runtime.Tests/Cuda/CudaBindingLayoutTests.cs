using System;
using System.Runtime.InteropServices;
using NetGen.Cuda;
using NetGen.Cuda.Native;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>
/// The raw bindings' constants and struct layouts against the values the NVIDIA headers document (cuDNN 9
/// cudnn_graph.h / cudnn_ops.h / cudnn_cnn.h, CUDA 12/13 driver_types.h, cublas_api.h). A wrong value here would not
/// fail to load: it would silently ask cuDNN for another algorithm or layout, so each is pinned.
/// </summary>
public class CudaBindingLayoutTests
{
    [Fact]
    public unsafe void Algorithm_perf_struct_matches_cudnnConvolutionFwdAlgoPerf_t()
    {
        // typedef struct { cudnnConvolutionFwdAlgo_t algo; cudnnStatus_t status; float time; size_t memory;
        //                  cudnnDeterminism_t determinism; cudnnMathType_t mathType; int reserved[3]; } (64-bit: 48 bytes)
        Assert.Equal(48, sizeof(Cudnn.AlgorithmPerf));
        Assert.Equal(48, Marshal.SizeOf<Cudnn.AlgorithmPerf>());
        (string Field, int Offset)[] expected =
        {
            ("Algorithm", 0), ("Status", 4), ("Milliseconds", 8), ("Memory", 16), ("Determinism", 24), ("MathType", 28),
            ("Reserved0", 32), ("Reserved1", 36), ("Reserved2", 40),
        };
        foreach (var (field, offset) in expected)
            Assert.True(offset == (int)Marshal.OffsetOf<Cudnn.AlgorithmPerf>(field), $"{field} at {Marshal.OffsetOf<Cudnn.AlgorithmPerf>(field)}, header says {offset}");
    }

    [Fact]
    public void CuDNN_enum_values_match_the_headers()
    {
        // cudnnDataType_t
        Assert.Equal((0, 1, 2, 4), (Cudnn.DataFloat, Cudnn.DataDouble, Cudnn.DataHalf, Cudnn.DataInt32));
        // cudnnTensorFormat_t
        Assert.Equal((0, 1), (Cudnn.TensorNchw, Cudnn.TensorNhwc));
        // cudnnConvolutionMode_t
        Assert.Equal((0, 1), (Cudnn.Convolution, Cudnn.CrossCorrelation));
        // cudnnMathType_t
        Assert.Equal((0, 1, 2, 3), (Cudnn.DefaultMath, Cudnn.TensorOpMath, Cudnn.TensorOpMathAllowConversion, Cudnn.FmaMath));
        // cudnnDeterminism_t
        Assert.Equal((0, 1), (Cudnn.NonDeterministic, Cudnn.Deterministic));
        // cudnnPoolingMode_t
        Assert.Equal((0, 1, 2, 3), (Cudnn.PoolingMax, Cudnn.PoolingAverageIncludePadding, Cudnn.PoolingAverageExcludePadding, Cudnn.PoolingMaxDeterministic));
        // cudnnNanPropagation_t
        Assert.Equal((0, 1), (Cudnn.NotPropagateNan, Cudnn.PropagateNan));
        // cudnnActivationMode_t
        Assert.Equal((0, 1, 2, 3, 4, 5), (Cudnn.ActivationSigmoid, Cudnn.ActivationRelu, Cudnn.ActivationTanh, Cudnn.ActivationClippedRelu, Cudnn.ActivationElu, Cudnn.ActivationIdentity));
        // cudnnSoftmaxAlgorithm_t, cudnnSoftmaxMode_t
        Assert.Equal((0, 1, 2), (Cudnn.SoftmaxFast, Cudnn.SoftmaxAccurate, Cudnn.SoftmaxLog));
        Assert.Equal((0, 1), (Cudnn.SoftmaxModeInstance, Cudnn.SoftmaxModeChannel));
        // cudnnBatchNormMode_t
        Assert.Equal((0, 1, 2), (Cudnn.BatchNormPerActivation, Cudnn.BatchNormSpatial, Cudnn.BatchNormSpatialPersistent));
        // cudnnLRNMode_t
        Assert.Equal(0, Cudnn.LrnCrossChannelDim1);
        // CUDNN_CONVOLUTION_FWD_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT
        Assert.Equal((8, 6, 7), (Cudnn.ForwardAlgorithmCount, Cudnn.BackwardDataAlgorithmCount, Cudnn.BackwardFilterAlgorithmCount));
        // cudnnRNNAlgo_t, cudnnRNNMode_t, cudnnRNNBiasMode_t, cudnnDirectionMode_t, cudnnRNNInputMode_t (cudnn_adv.h)
        Assert.Equal((0, 1, 2, 3), (Cudnn.RnnAlgoStandard, Cudnn.RnnAlgoPersistStatic, Cudnn.RnnAlgoPersistDynamic, Cudnn.RnnAlgoPersistStaticSmallH));
        Assert.Equal((0, 1, 2, 3), (Cudnn.RnnRelu, Cudnn.RnnTanh, Cudnn.Lstm, Cudnn.Gru));
        Assert.Equal((0, 1, 2, 3), (Cudnn.RnnNoBias, Cudnn.RnnSingleInputBias, Cudnn.RnnDoubleBias, Cudnn.RnnSingleRecurrentBias));
        Assert.Equal((0, 1), (Cudnn.Unidirectional, Cudnn.Bidirectional));
        Assert.Equal((0, 1), (Cudnn.LinearInput, Cudnn.SkipInput));
        // cudnnForwardMode_t, cudnnRNNDataLayout_t, cudnnWgradMode_t, CUDNN_RNN_PADDED_IO_ENABLED
        Assert.Equal((0, 1), (Cudnn.ForwardInference, Cudnn.ForwardTraining));
        Assert.Equal((0, 1, 2), (Cudnn.RnnDataSequenceMajorUnpacked, Cudnn.RnnDataSequenceMajorPacked, Cudnn.RnnDataBatchMajorUnpacked));
        Assert.Equal((0, 1), (Cudnn.WeightGradientAdd, Cudnn.WeightGradientSet));
        Assert.Equal(1u, Cudnn.RnnPaddedIoEnabled);
    }

    [Fact]
    public void CUDA_runtime_and_cuBLAS_enum_values_match_the_headers()
    {
        // cudaMemcpyKind
        Assert.Equal((1, 2, 3), (CudaRuntime.MemcpyHostToDevice, CudaRuntime.MemcpyDeviceToHost, CudaRuntime.MemcpyDeviceToDevice));
        // cudaDeviceAttr
        Assert.Equal((16, 75, 76), (CudaRuntime.AttributeMultiProcessorCount, CudaRuntime.AttributeComputeCapabilityMajor, CudaRuntime.AttributeComputeCapabilityMinor));
        // cudaStreamCaptureMode
        Assert.Equal((0, 1, 2), (CudaRuntime.StreamCaptureModeGlobal, CudaRuntime.StreamCaptureModeThreadLocal, CudaRuntime.StreamCaptureModeRelaxed));
        // cudaStreamNonBlocking
        Assert.Equal(1u, CudaRuntime.StreamNonBlocking);
        // cublasOperation_t
        Assert.Equal((0, 1), (Cublas.OpN, Cublas.OpT));
        // cublasMath_t: CUBLAS_DEFAULT_MATH, CUBLAS_PEDANTIC_MATH, CUBLAS_TF32_TENSOR_OP_MATH
        Assert.Equal((0, 2, 3), (Cublas.DefaultMath, Cublas.PedanticMath, Cublas.Tf32TensorOpMath));
    }
}

/// <summary>How a convolution's algorithm is picked from cudnnFind's results (no GPU needed: the results are made up).</summary>
public class CudaAlgorithmChoiceTests
{
    private static unsafe CudaConv2d.Choice Pick(Cudnn.AlgorithmPerf[] results, long workspace, bool allowTf32)
    {
        fixed (Cudnn.AlgorithmPerf* p = results)
            return CudaConv2d.Best(p, results.Length, "forward", workspace, "Conv2d test", allowTf32);
    }

    private static Cudnn.AlgorithmPerf Result(int algorithm, int status, ulong memory, int mathType) =>
        new() { Algorithm = algorithm, Status = status, Memory = (nuint)memory, MathType = mathType };

    [Fact]
    public void The_fastest_algorithm_that_succeeded_within_the_workspace_wins()
    {
        var results = new[]
        {
            Result(6, status: 0, memory: 1 << 30, Cudnn.FmaMath),  // fastest, but needs 1 GiB
            Result(7, status: 3, memory: 0, Cudnn.FmaMath),        // failed
            Result(1, status: 0, memory: 4096, Cudnn.FmaMath),
            Result(0, status: 0, memory: 0, Cudnn.FmaMath),
        };
        Assert.Equal(1, Pick(results, 1 << 20, allowTf32: false).Algorithm);
        Assert.Equal(6, Pick(results, 1L << 31, allowTf32: false).Algorithm);
        Assert.Equal(0, Pick(results, 0, allowTf32: false).Algorithm);
    }

    [Fact]
    public void Strict_fp32_keeps_FMA_math_and_TF32_takes_the_math_cuDNN_measured()
    {
        var results = new[] { Result(1, 0, 0, Cudnn.TensorOpMath) };
        Assert.Equal(Cudnn.FmaMath, Pick(results, 0, allowTf32: false).MathType);
        Assert.Equal(Cudnn.TensorOpMath, Pick(results, 0, allowTf32: true).MathType);
    }

    [Fact]
    public void No_algorithm_within_the_workspace_says_which_option_to_raise()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Pick(new[] { Result(0, 0, 1 << 20, Cudnn.FmaMath) }, 1024, allowTf32: false));
        Assert.Contains("Conv2d test", e.Message);
        Assert.Contains("1024-byte workspace", e.Message);
        Assert.Contains("NetworkOptions.CudaWorkspaceBytes", e.Message);
    }
}

public class CudaTrainerLossTests
{
    private sealed class CustomLoss : Loss
    {
        public override string Name => "Custom";
        public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient) => 0f;
    }

    [Fact]
    public void Every_built_in_loss_has_a_CUDA_kernel_and_its_own_graph_kind()
    {
        var sgd = new Sgd(0.1f);
        var adam = new Adam(1e-3f);
        var kinds = new System.Collections.Generic.HashSet<int>();
        foreach (var (loss, labels) in new[] { (Loss.SoftmaxCrossEntropy, true), (Loss.SoftmaxCrossEntropy, false), (Loss.MeanSquaredError, false),
                     (Loss.BinaryCrossEntropyWithLogits, false), (Loss.L1, false) })
        {
            CudaTrainer.CheckSupported(loss, labels, sgd, "Net");
            Assert.True(kinds.Add(CudaTrainer.Kind(loss, labels, sgd)), $"{loss} shares a graph kind");
            Assert.True(kinds.Add(CudaTrainer.Kind(loss, labels, adam)), $"{loss} with Adam shares a graph kind");
        }
        // the kind sits in 8 bits of the graph key, next to the frozen flag
        Assert.All(kinds, k => Assert.InRange(k, 0, 127));
    }

    [Fact]
    public void A_loss_without_a_CUDA_kernel_is_refused_before_anything_runs()
    {
        var custom = Assert.Throws<NotSupportedException>(() => CudaTrainer.CheckSupported(new CustomLoss(), labels: false, new Sgd(0.1f), "Net"));
        Assert.Contains("Net on Backend.Cuda: the Custom loss with float targets has no CUDA kernel", custom.Message);
        var l1Labels = Assert.Throws<NotSupportedException>(() => CudaTrainer.CheckSupported(Loss.L1, labels: true, new Sgd(0.1f), "Net"));
        Assert.Contains("the L1 loss with class labels", l1Labels.Message);
    }
}
