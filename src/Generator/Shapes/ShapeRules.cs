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

    public static Shape Pool(Shape input, int kernel, int stride) =>
        Shape.Of(input.C, WindowOutput(input.H, kernel, stride, 0), WindowOutput(input.W, kernel, stride, 0));
}
