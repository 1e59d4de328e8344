using System;

namespace NetGen
{
    /// <summary>
    /// Marks a partial class as a NetGen network. The generator reads its <c>Forward</c> method
    /// (a specification, never run), infers every shape and emits the forward and backward code,
    /// the parameter schema, <c>Summary</c>, <c>TrainStep</c> and <c>Save</c>/<c>Load</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, Inherited = false)]
    public sealed class NetworkAttribute : Attribute
    {
    }

    /// <summary>
    /// The static per-sample shape of a <c>Forward</c> input, without the batch dimension:
    /// <c>[Shape(1, 28, 28)]</c> is one 28x28 grey image, <c>[Shape(784)]</c> a flat vector.
    /// </summary>
    [AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
    public sealed class ShapeAttribute : Attribute
    {
        public ShapeAttribute(params int[] dimensions) => Dimensions = dimensions;

        /// <summary>Per-sample dimensions, outermost first.</summary>
        public int[] Dimensions { get; }
    }

    /// <summary>
    /// Declares a partial method as one named 2-D convolution with its own weights
    /// (<c>[name].weight</c> of shape [out, in, k, k] and <c>[name].bias</c>). Calling the method
    /// several times in <c>Forward</c> shares the weights.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    public sealed class Conv2dAttribute : Attribute
    {
        public Conv2dAttribute(int outChannels) => OutChannels = outChannels;

        public int OutChannels { get; }

        /// <summary>Square kernel size (default 3).</summary>
        public int Kernel { get; set; } = 3;

        public int Stride { get; set; } = 1;

        /// <summary>Zero padding on every side.</summary>
        public int Padding { get; set; }

        public bool Bias { get; set; } = true;

        /// <summary>Optional: the expected input channels, checked at compile time (0 = inferred).</summary>
        public int InChannels { get; set; }

        /// <summary>Optional parameter-name prefix (default: the member name).</summary>
        public string? Name { get; set; }
    }

    /// <summary>
    /// Declares a partial method as one named fully connected layer (<c>[name].weight</c> of shape
    /// [units, in] as in PyTorch, and <c>[name].bias</c>). Calling it several times shares the weights.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    public sealed class DenseAttribute : Attribute
    {
        public DenseAttribute(int units) => Units = units;

        public int Units { get; }

        public bool Bias { get; set; } = true;

        /// <summary>Optional: the expected input features, checked at compile time (0 = inferred).</summary>
        public int InFeatures { get; set; }

        /// <summary>Optional parameter-name prefix (default: the member name).</summary>
        public string? Name { get; set; }
    }
}
