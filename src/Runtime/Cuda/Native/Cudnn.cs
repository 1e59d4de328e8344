using System;
using System.Runtime.InteropServices;

namespace NetGen.Cuda.Native;

/// <summary>
/// cuDNN 9 (libcudnn.so.9, the shim that loads its sub-libraries): the legacy descriptor API NetGen's generated CUDA
/// code calls. Enum values are the ones cudnn_graph.h / cudnn_ops.h / cudnn_cnn.h document; CudaBindingTests pins them.
/// Descriptors are IntPtr handles owned by <see cref="NetGen.Cuda.CudnnTensor"/> and friends.
/// </summary>
public static unsafe partial class Cudnn
{
    static Cudnn() => CudaLibraries.EnsureResolver();

    // cudnnDataType_t, cudnnTensorFormat_t
    public const int DataFloat = 0, DataDouble = 1, DataHalf = 2, DataInt32 = 4;
    public const int TensorNchw = 0, TensorNhwc = 1;
    // cudnnConvolutionMode_t: PyTorch's "convolution" is cross-correlation
    public const int Convolution = 0, CrossCorrelation = 1;
    // cudnnMathType_t: FMA_MATH keeps fp32 exact (no TF32 tensor cores); DEFAULT_MATH lets cuDNN pick TF32 on Ampere+.
    public const int DefaultMath = 0, TensorOpMath = 1, TensorOpMathAllowConversion = 2, FmaMath = 3;
    // cudnnDeterminism_t
    public const int NonDeterministic = 0, Deterministic = 1;
    // cudnnPoolingMode_t
    public const int PoolingMax = 0, PoolingAverageIncludePadding = 1, PoolingAverageExcludePadding = 2, PoolingMaxDeterministic = 3;
    // cudnnNanPropagation_t
    public const int NotPropagateNan = 0, PropagateNan = 1;
    // cudnnActivationMode_t
    public const int ActivationSigmoid = 0, ActivationRelu = 1, ActivationTanh = 2, ActivationClippedRelu = 3, ActivationElu = 4, ActivationIdentity = 5;
    // cudnnSoftmaxAlgorithm_t, cudnnSoftmaxMode_t
    public const int SoftmaxFast = 0, SoftmaxAccurate = 1, SoftmaxLog = 2;
    public const int SoftmaxModeInstance = 0, SoftmaxModeChannel = 1;
    // cudnnBatchNormMode_t
    public const int BatchNormPerActivation = 0, BatchNormSpatial = 1, BatchNormSpatialPersistent = 2;
    // cudnnLRNMode_t
    public const int LrnCrossChannelDim1 = 0;
    // Algorithm counts (cudnnConvolution*Algo_t ..._COUNT)
    public const int ForwardAlgorithmCount = 8, BackwardDataAlgorithmCount = 6, BackwardFilterAlgorithmCount = 7;
    // cudnnRNNAlgo_t, cudnnRNNMode_t, cudnnRNNBiasMode_t, cudnnDirectionMode_t, cudnnRNNInputMode_t
    public const int RnnAlgoStandard = 0, RnnAlgoPersistStatic = 1, RnnAlgoPersistDynamic = 2, RnnAlgoPersistStaticSmallH = 3;
    public const int RnnRelu = 0, RnnTanh = 1, Lstm = 2, Gru = 3;
    public const int RnnNoBias = 0, RnnSingleInputBias = 1, RnnDoubleBias = 2, RnnSingleRecurrentBias = 3;
    public const int Unidirectional = 0, Bidirectional = 1;
    public const int LinearInput = 0, SkipInput = 1;
    // cudnnForwardMode_t, cudnnRNNDataLayout_t, cudnnWgradMode_t, the auxFlags bit CUDNN_RNN_PADDED_IO_ENABLED
    public const int ForwardInference = 0, ForwardTraining = 1;
    public const int RnnDataSequenceMajorUnpacked = 0, RnnDataSequenceMajorPacked = 1, RnnDataBatchMajorUnpacked = 2;
    public const int WeightGradientAdd = 0, WeightGradientSet = 1;
    public const uint RnnPaddedIoEnabled = 1;

    [LibraryImport(CudaLibraries.DnnName)] public static partial nuint cudnnGetVersion();
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreate(IntPtr* handle);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroy(IntPtr handle);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetStream(IntPtr handle, IntPtr stream);
    [LibraryImport(CudaLibraries.DnnName)] public static partial byte* cudnnGetErrorString(int status);

    // Tensors and filters
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateTensorDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyTensorDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetTensor4dDescriptor(IntPtr descriptor, int format, int dataType, int n, int c, int h, int w);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateFilterDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyFilterDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetFilter4dDescriptor(IntPtr descriptor, int dataType, int format, int k, int c, int h, int w);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnAddTensor(IntPtr handle, float* alpha, IntPtr aDesc, float* a, float* beta, IntPtr cDesc, float* c);

    // Convolutions
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateConvolutionDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyConvolutionDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSetConvolution2dDescriptor(IntPtr descriptor, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW, int mode, int computeType);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetConvolutionMathType(IntPtr descriptor, int mathType);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetConvolutionGroupCount(IntPtr descriptor, int groups);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnGetConvolution2dForwardOutputDim(IntPtr convolution, IntPtr input, IntPtr filter, int* n, int* c, int* h, int* w);

    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnFindConvolutionForwardAlgorithmEx(IntPtr handle, IntPtr xDesc, float* x, IntPtr wDesc, float* w, IntPtr convDesc,
        IntPtr yDesc, float* y, int requested, int* returned, AlgorithmPerf* results, void* workspace, nuint workspaceBytes);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnFindConvolutionBackwardDataAlgorithmEx(IntPtr handle, IntPtr wDesc, float* w, IntPtr dyDesc, float* dy, IntPtr convDesc,
        IntPtr dxDesc, float* dx, int requested, int* returned, AlgorithmPerf* results, void* workspace, nuint workspaceBytes);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnFindConvolutionBackwardFilterAlgorithmEx(IntPtr handle, IntPtr xDesc, float* x, IntPtr dyDesc, float* dy, IntPtr convDesc,
        IntPtr dwDesc, float* dw, int requested, int* returned, AlgorithmPerf* results, void* workspace, nuint workspaceBytes);

    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnConvolutionForward(IntPtr handle, float* alpha, IntPtr xDesc, float* x, IntPtr wDesc, float* w, IntPtr convDesc,
        int algorithm, void* workspace, nuint workspaceBytes, float* beta, IntPtr yDesc, float* y);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnConvolutionBackwardData(IntPtr handle, float* alpha, IntPtr wDesc, float* w, IntPtr dyDesc, float* dy, IntPtr convDesc,
        int algorithm, void* workspace, nuint workspaceBytes, float* beta, IntPtr dxDesc, float* dx);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnConvolutionBackwardFilter(IntPtr handle, float* alpha, IntPtr xDesc, float* x, IntPtr dyDesc, float* dy, IntPtr convDesc,
        int algorithm, void* workspace, nuint workspaceBytes, float* beta, IntPtr dwDesc, float* dw);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnConvolutionBackwardBias(IntPtr handle, float* alpha, IntPtr dyDesc, float* dy, float* beta, IntPtr dbDesc, float* db);

    // Pooling
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreatePoolingDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyPoolingDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSetPooling2dDescriptor(IntPtr descriptor, int mode, int nanPropagation, int windowH, int windowW, int padH, int padW, int strideH, int strideW);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnPoolingForward(IntPtr handle, IntPtr poolDesc, float* alpha, IntPtr xDesc, float* x, float* beta, IntPtr yDesc, float* y);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnPoolingBackward(IntPtr handle, IntPtr poolDesc, float* alpha, IntPtr yDesc, float* y, IntPtr dyDesc, float* dy,
        IntPtr xDesc, float* x, float* beta, IntPtr dxDesc, float* dx);

    // Activations and softmax
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateActivationDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyActivationDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetActivationDescriptor(IntPtr descriptor, int mode, int nanPropagation, double coefficient);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnActivationForward(IntPtr handle, IntPtr activation, float* alpha, IntPtr xDesc, float* x, float* beta, IntPtr yDesc, float* y);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnActivationBackward(IntPtr handle, IntPtr activation, float* alpha, IntPtr yDesc, float* y, IntPtr dyDesc, float* dy,
        IntPtr xDesc, float* x, float* beta, IntPtr dxDesc, float* dx);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSoftmaxForward(IntPtr handle, int algorithm, int mode, float* alpha, IntPtr xDesc, float* x, float* beta, IntPtr yDesc, float* y);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSoftmaxBackward(IntPtr handle, int algorithm, int mode, float* alpha, IntPtr yDesc, float* y, IntPtr dyDesc, float* dy,
        float* beta, IntPtr dxDesc, float* dx);

    // Batch normalization (legacy API, still in cuDNN 9's ops library)
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDeriveBNTensorDescriptor(IntPtr derived, IntPtr xDesc, int mode);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnBatchNormalizationForwardTraining(IntPtr handle, int mode, float* alpha, float* beta, IntPtr xDesc, float* x,
        IntPtr yDesc, float* y, IntPtr bnDesc, float* scale, float* bias, double exponentialAverageFactor, float* runningMean, float* runningVariance,
        double epsilon, float* saveMean, float* saveInvVariance);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnBatchNormalizationForwardInference(IntPtr handle, int mode, float* alpha, float* beta, IntPtr xDesc, float* x,
        IntPtr yDesc, float* y, IntPtr bnDesc, float* scale, float* bias, float* estimatedMean, float* estimatedVariance, double epsilon);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnBatchNormalizationBackward(IntPtr handle, int mode, float* alphaData, float* betaData, float* alphaParam, float* betaParam,
        IntPtr xDesc, float* x, IntPtr dyDesc, float* dy, IntPtr dxDesc, float* dx, IntPtr bnDesc, float* scale, float* scaleGradient, float* biasGradient,
        double epsilon, float* savedMean, float* savedInvVariance);

    // Local response normalization (AlexNet)
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateLRNDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyLRNDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnSetLRNDescriptor(IntPtr descriptor, uint n, double alpha, double beta, double k);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnLRNCrossChannelForward(IntPtr handle, IntPtr lrnDesc, int mode, float* alpha, IntPtr xDesc, float* x, float* beta, IntPtr yDesc, float* y);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnLRNCrossChannelBackward(IntPtr handle, IntPtr lrnDesc, int mode, float* alpha, IntPtr yDesc, float* y, IntPtr dyDesc, float* dy,
        IntPtr xDesc, float* x, float* beta, IntPtr dxDesc, float* dx);

    // Dropout
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateDropoutDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyDropoutDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDropoutGetStatesSize(IntPtr handle, nuint* bytes);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDropoutGetReserveSpaceSize(IntPtr xDesc, nuint* bytes);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSetDropoutDescriptor(IntPtr descriptor, IntPtr handle, float dropout, void* states, nuint stateBytes, ulong seed);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnDropoutForward(IntPtr handle, IntPtr dropoutDesc, IntPtr xDesc, float* x, IntPtr yDesc, float* y, void* reserve, nuint reserveBytes);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnDropoutBackward(IntPtr handle, IntPtr dropoutDesc, IntPtr dyDesc, float* dy, IntPtr dxDesc, float* dx, void* reserve, nuint reserveBytes);

    // Recurrent networks (the v8 API, cuDNN 8 and 9; libcudnn.so.9 forwards them to libcudnn_adv). Bound for completeness:
    // the generated path runs its own cells (CudaRecurrent) to follow the CPU's order of operations, see docs/gpu.md.
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateRNNDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyRNNDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSetRNNDescriptor_v8(IntPtr descriptor, int algorithm, int cellMode, int biasMode, int directionMode, int inputMode,
        int dataType, int mathPrecision, int mathType, int inputSize, int hiddenSize, int projectionSize, int layers, IntPtr dropoutDesc, uint auxFlags);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnCreateRNNDataDescriptor(IntPtr* descriptor);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnDestroyRNNDataDescriptor(IntPtr descriptor);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnSetRNNDataDescriptor(IntPtr descriptor, int dataType, int layout, int maxSequenceLength, int batch, int vectorSize,
        int* sequenceLengths, void* paddingFill);
    [LibraryImport(CudaLibraries.DnnName)] public static partial int cudnnGetRNNWeightSpaceSize(IntPtr handle, IntPtr rnnDesc, nuint* bytes);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnGetRNNTempSpaceSizes(IntPtr handle, IntPtr rnnDesc, int forwardMode, IntPtr xDesc, nuint* workspaceBytes, nuint* reserveBytes);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnRNNForward(IntPtr handle, IntPtr rnnDesc, int forwardMode, int* deviceSequenceLengths, IntPtr xDesc, float* x,
        IntPtr yDesc, float* y, IntPtr hDesc, float* hx, float* hy, IntPtr cDesc, float* cx, float* cy, nuint weightBytes, float* weights,
        nuint workspaceBytes, void* workspace, nuint reserveBytes, void* reserve);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnRNNBackwardData_v8(IntPtr handle, IntPtr rnnDesc, int* deviceSequenceLengths, IntPtr yDesc, float* y, float* dy,
        IntPtr xDesc, float* dx, IntPtr hDesc, float* hx, float* dhy, float* dhx, IntPtr cDesc, float* cx, float* dcy, float* dcx,
        nuint weightBytes, float* weights, nuint workspaceBytes, void* workspace, nuint reserveBytes, void* reserve);
    [LibraryImport(CudaLibraries.DnnName)]
    public static partial int cudnnRNNBackwardWeights_v8(IntPtr handle, IntPtr rnnDesc, int addGradient, int* deviceSequenceLengths, IntPtr xDesc, float* x,
        IntPtr hDesc, float* hx, IntPtr yDesc, float* y, nuint weightBytes, float* weightGradients, nuint workspaceBytes, void* workspace,
        nuint reserveBytes, void* reserve);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(CudaLibrary.Dnn, status, Marshal.PtrToStringUTF8((IntPtr)cudnnGetErrorString(status)) + Hint(status), call);
    }

    /// <summary>CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED (cuDNN 9.2 and later).</summary>
    public const int StatusSublibraryLoadingFailed = 1008;

    /// <summary>What to do about a status whose error string alone does not say (empty for the others).</summary>
    public static string Hint(int status) => status switch
    {
        StatusSublibraryLoadingFailed =>
            ". libcudnn.so.9 opens its sub-libraries (libcudnn_graph.so.9, libcudnn_ops.so.9, libcudnn_cnn.so.9, ...) by file " +
            "name: they must sit next to it" +
            (CudaLibraries.TryLoad(CudaLibrary.Dnn, out string? path) && path != null && path.Contains('/') ? $" ({System.IO.Path.GetDirectoryName(path)})" : "") +
            ", from the same cuDNN version, or their folder must be on LD_LIBRARY_PATH",
        _ => "",
    };

    /// <summary>
    /// cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionBwdDataAlgoPerf_t and cudnnConvolutionBwdFilterAlgoPerf_t share
    /// this layout: algo, status, time (ms), memory (workspace bytes), determinism, mathType, int reserved[3]; 48 bytes.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct AlgorithmPerf
    {
        public int Algorithm;
        public int Status;
        public float Milliseconds;
        public nuint Memory;
        public int Determinism;
        public int MathType;
        public int Reserved0, Reserved1, Reserved2;
    }
}
