using System;

namespace NetGen
{
    /// <summary>
    /// Layer functions for a network's <c>Forward</c> specification (<c>using static NetGen.Layers;</c>).
    /// Like EF Core's <c>EF.Functions</c>, they are markers read by the generator at compile time:
    /// every inline call is one layer instance with its own weights. Calling one at run time throws,
    /// and the NetGen analyzer reports NG0007 for a call outside a <c>[Network]</c> class.
    /// </summary>
    public static class Layers
    {
        /// <summary>2-D convolution, square kernel: [C,H,W] -> [outChannels, (H+2p-k)/s+1, (W+2p-k)/s+1].</summary>
        public static Tensor Conv2d(Tensor x, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true, string? name = null)
            => throw NotInForward(nameof(Conv2d));

        /// <summary>Fully connected layer over a flat tensor: [in] -> [units].</summary>
        public static Tensor Dense(Tensor x, int units, bool bias = true, string? name = null)
            => throw NotInForward(nameof(Dense));

        /// <summary>Average pooling, window kernel x kernel, stride defaults to the kernel.</summary>
        public static Tensor AvgPool2d(Tensor x, int kernel, int stride = 0)
            => throw NotInForward(nameof(AvgPool2d));

        /// <summary>
        /// Max pooling, window kernel x kernel, stride defaults to the kernel. <paramref name="padding"/> pads
        /// with -infinity (at most kernel/2, as in PyTorch); <paramref name="ceilMode"/> rounds the output size up
        /// (PyTorch's rule: the last window must start inside the input or its left padding).
        /// </summary>
        public static Tensor MaxPool2d(Tensor x, int kernel, int stride = 0, int padding = 0, bool ceilMode = false)
            => throw NotInForward(nameof(MaxPool2d));

        /// <summary>
        /// Batch normalization: BatchNorm2d over the channels of a CxHxW tensor, BatchNorm1d over the features
        /// of a flat one. Training normalizes with the batch statistics and updates the running statistics
        /// (running = (1 - momentum) * running + momentum * batch, unbiased variance, as PyTorch); inference uses
        /// the running statistics. Parameters <c>name.weight</c> (ones) and <c>name.bias</c> (zeros); buffers
        /// <c>name.running_mean</c> and <c>name.running_var</c>, saved in checkpoints.
        /// </summary>
        public static Tensor BatchNorm(Tensor x, double momentum = 0.1, double epsilon = 1e-5, string? name = null)
            => throw NotInForward(nameof(BatchNorm));

        /// <summary>Inverted dropout: in training zeroes each element with probability p and scales the rest by 1/(1-p); identity in inference.</summary>
        public static Tensor Dropout(Tensor x, double p = 0.5) => throw NotInForward(nameof(Dropout));

        /// <summary>Local response normalization across channels (PyTorch's LocalResponseNorm): y = x / (k + alpha/size * sum x^2)^beta.</summary>
        public static Tensor LocalResponseNorm(Tensor x, int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0)
            => throw NotInForward(nameof(LocalResponseNorm));

        /// <summary>Concatenates tensors along the channels (CxHxW, equal H and W) or the features (flat tensors).</summary>
        public static Tensor Concat(params Tensor[] tensors) => throw NotInForward(nameof(Concat));

        /// <summary>Average over each channel's whole plane: CxHxW -> Cx1x1 (follow with Flatten for a classifier).</summary>
        public static Tensor GlobalAvgPool(Tensor x) => throw NotInForward(nameof(GlobalAvgPool));

        /// <summary>Adaptive average pooling to a fixed height x width, with PyTorch's bins (start = floor(i*in/out), end = ceil((i+1)*in/out)).</summary>
        public static Tensor AdaptiveAvgPool2d(Tensor x, int height, int width) => throw NotInForward(nameof(AdaptiveAvgPool2d));

        /// <summary>max(x, slope * x).</summary>
        public static Tensor LeakyRelu(Tensor x, double slope = 0.01) => throw NotInForward(nameof(LeakyRelu));

        /// <summary>
        /// Transposed 2-d convolution (PyTorch's ConvTranspose2d): [C,H,W] -> [outChannels, (H-1)*s - 2p + k + outputPadding, ...].
        /// Weight <c>name.weight</c> is [inChannels, outChannels, k, k] as in PyTorch.
        /// </summary>
        public static Tensor ConvTranspose2d(Tensor x, int outChannels, int kernel, int stride = 1, int padding = 0, int outputPadding = 0,
            bool bias = true, string? name = null) => throw NotInForward(nameof(ConvTranspose2d));

        /// <summary>Upsampling by an integer factor: nearest neighbour, or bilinear (PyTorch's align_corners=False).</summary>
        public static Tensor Upsample(Tensor x, int scale = 2, bool bilinear = false) => throw NotInForward(nameof(Upsample));

        /// <summary>Element-wise e^x (for example exp(0.5 * logVar) in a VAE's reparameterization).</summary>
        public static Tensor Exp(Tensor x) => throw NotInForward(nameof(Exp));

        /// <summary>Views a tensor as channels x height x width (same size, no copy): the inverse of Flatten.</summary>
        public static Tensor Reshape(Tensor x, int channels, int height, int width) => throw NotInForward(nameof(Reshape));

        /// <summary>Multiplies by a compile-time constant (for example 0.5 * logVar).</summary>
        public static Tensor Scale(Tensor x, double factor) => throw NotInForward(nameof(Scale));

        /// <summary>
        /// Elman RNN (tanh) over a [Steps, Features] sequence, PyTorch's nn.RNN equations and weight names
        /// (<c>name.weight_ih_l0</c>, <c>weight_hh_l0</c>, <c>bias_ih_l0</c>, <c>bias_hh_l0</c>, <c>..._reverse</c>). Returns
        /// [Steps, hidden * directions], or with <paramref name="returnSequences"/> false the last state of each
        /// direction, [hidden * directions] (PyTorch's h_n). <paramref name="initialHidden"/>: [hidden] per sample
        /// (one layer, one direction).
        /// </summary>
        public static Tensor Rnn(Tensor x, int hidden, int layers = 1, bool bidirectional = false, bool returnSequences = true,
            Tensor? initialHidden = null, string? name = null) => throw NotInForward(nameof(Rnn));

        /// <summary>LSTM (gates i, f, g, o as PyTorch's nn.LSTM); see <see cref="Rnn"/>. <paramref name="initialCell"/>: [hidden] per sample.</summary>
        public static Tensor Lstm(Tensor x, int hidden, int layers = 1, bool bidirectional = false, bool returnSequences = true,
            Tensor? initialHidden = null, Tensor? initialCell = null, string? name = null) => throw NotInForward(nameof(Lstm));

        /// <summary>GRU (gates r, z, n as PyTorch's nn.GRU); see <see cref="Rnn"/>.</summary>
        public static Tensor Gru(Tensor x, int hidden, int layers = 1, bool bidirectional = false, bool returnSequences = true,
            Tensor? initialHidden = null, string? name = null) => throw NotInForward(nameof(Gru));

        /// <summary>Time step <paramref name="t"/> of a [Steps, Features] sequence as a flat [Features] tensor (negative t counts from the end).</summary>
        public static Tensor Step(Tensor x, int t) => throw NotInForward(nameof(Step));

        /// <summary>Stacks flat tensors of equal length into a [count, Features] sequence (one-to-many outputs of an unrolled cell).</summary>
        public static Tensor Stack(params Tensor[] steps) => throw NotInForward(nameof(Stack));

        /// <summary>Returns x unchanged (no layer, no cost): handy as the shortcut of a residual block.</summary>
        public static Tensor Identity(Tensor x) => throw NotInForward(nameof(Identity));

        /// <summary>Flattens a per-sample [C,H,W] tensor to [C*H*W].</summary>
        public static Tensor Flatten(Tensor x) => throw NotInForward(nameof(Flatten));

        public static Tensor Tanh(Tensor x) => throw NotInForward(nameof(Tanh));

        public static Tensor Relu(Tensor x) => throw NotInForward(nameof(Relu));

        public static Tensor Sigmoid(Tensor x) => throw NotInForward(nameof(Sigmoid));

        /// <summary>Softmax over the features of a flat tensor.</summary>
        public static Tensor Softmax(Tensor x) => throw NotInForward(nameof(Softmax));

        /// <summary>The exception every marker throws when it is run instead of read.</summary>
        public static InvalidOperationException NotInForward(string what) => new InvalidOperationException(
            $"NetGen.Layers: '{what}' is part of a network specification and is never run. It may only appear in the " +
            "Forward method (or its helper methods) of a [Network] partial class, which the NetGen generator " +
            "compiles at build time; call the generated Forward(...) overload that takes spans of floats instead.");
    }
}
