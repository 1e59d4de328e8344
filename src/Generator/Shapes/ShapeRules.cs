using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>Output-shape rules, one per op family. Pure functions; callers report non-positive sizes.</summary>
internal static class ShapeRules
{
    /// <summary>floor((size + 2p - k) / s) + 1, or 0 when the window does not fit.</summary>
    public static int WindowOutput(int size, int kernel, int stride, int padding)
    {
        int span = size + 2 * padding - kernel;
        return span < 0 ? 0 : span / stride + 1;
    }

    public static Shape Conv(Shape input, int outChannels, int kernel, int stride, int padding) =>
        Shape.Of(outChannels, WindowOutput(input.H, kernel, stride, padding), WindowOutput(input.W, kernel, stride, padding));

    /// <summary>(size - 1) * s - 2p + k + outputPadding, PyTorch's ConvTranspose2d.</summary>
    public static Shape ConvTranspose(Shape input, int outChannels, int kernel, int stride, int padding, int outputPadding) =>
        Shape.Of(outChannels, (input.H - 1) * stride - 2 * padding + kernel + outputPadding, (input.W - 1) * stride - 2 * padding + kernel + outputPadding);

    /// <summary>
    /// PyTorch's pooling size: floor (or ceil) of (size + 2p - k) / s, plus one; in ceil mode the last window must
    /// start inside the input or its left padding, else it is dropped.
    /// </summary>
    public static int PoolOutput(int size, int kernel, int stride, int padding, bool ceilMode)
    {
        int span = size + 2 * padding - kernel;
        if (span < 0) return 0;
        int output = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceilMode && (output - 1) * stride >= size + padding) output--;
        return output;
    }

    public static Shape Pool(Shape input, int kernel, int stride, int padding = 0, bool ceilMode = false) =>
        Shape.Of(input.C, PoolOutput(input.H, kernel, stride, padding, ceilMode), PoolOutput(input.W, kernel, stride, padding, ceilMode));
}
