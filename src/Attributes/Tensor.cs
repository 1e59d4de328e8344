using System;

namespace NetGen
{
    /// <summary>
    /// A symbolic tensor inside a network's <c>Forward</c> specification. It has no data: the
    /// generator reads the code that uses it at compile time. Its members throw when run.
    /// </summary>
    public readonly struct Tensor
    {
        /// <summary>Channels of a CxHxW tensor (compile-time constant inside Forward).</summary>
        public int Channels => throw Layers.NotInForward("Tensor.Channels");

        /// <summary>Height of a CxHxW tensor.</summary>
        public int Height => throw Layers.NotInForward("Tensor.Height");

        /// <summary>Width of a CxHxW tensor.</summary>
        public int Width => throw Layers.NotInForward("Tensor.Width");

        /// <summary>Length of a flat (rank-1) tensor, or the features per step of a [Steps, Features] sequence.</summary>
        public int Features => throw Layers.NotInForward("Tensor.Features");

        /// <summary>Time steps of a [Steps, Features] sequence.</summary>
        public int Steps => throw Layers.NotInForward("Tensor.Steps");

        /// <summary>Elements per sample (product of all dimensions).</summary>
        public int Size => throw Layers.NotInForward("Tensor.Size");

        /// <summary>Elementwise sum of two tensors of the same shape (residual connections).</summary>
        public static Tensor operator +(Tensor a, Tensor b) => throw Layers.NotInForward("Tensor + Tensor");

        /// <summary>Elementwise product of two tensors of the same shape (gating).</summary>
        public static Tensor operator *(Tensor a, Tensor b) => throw Layers.NotInForward("Tensor * Tensor");
    }
}
