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

        /// <summary>Max pooling, window kernel x kernel, stride defaults to the kernel.</summary>
        public static Tensor MaxPool2d(Tensor x, int kernel, int stride = 0)
            => throw NotInForward(nameof(MaxPool2d));

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
