namespace NetGen.Generator.Tests;

/// <summary>Network declarations used by several generator tests.</summary>
internal static class Sources
{
    public const string LeNet5 = """
        using NetGen;
        using static NetGen.Layers;

        namespace Demo;

        [Network]
        public partial class LeNet5
        {
            [Conv2d(6, Kernel = 5, Padding = 2)] private partial Tensor C1(Tensor x);
            [Conv2d(16, Kernel = 5)]             private partial Tensor C3(Tensor x);
            [Conv2d(120, Kernel = 5)]            private partial Tensor C5(Tensor x);
            [Dense(84)]                          private partial Tensor F6(Tensor x);
            [Dense(10)]                          private partial Tensor Output(Tensor x);

            Tensor Forward([Shape(1, 28, 28)] Tensor image)
            {
                var x = AvgPool2d(Tanh(C1(image)), 2);
                x = AvgPool2d(Tanh(C3(x)), 2);
                x = Tanh(C5(x));
                return Output(Tanh(F6(Flatten(x))));
            }
        }
        """;

    /// <summary>A small DAG: helper blocks in a constant loop, residual adds, a shared layer, two inputs.</summary>
    public const string TinyDag = """
        using NetGen;
        using static NetGen.Layers;

        namespace Demo;

        [Network]
        public partial class TinyDag
        {
            [Dense(16)] private partial Tensor Shared(Tensor x);

            Tensor Forward([Shape(1, 8, 8)] Tensor image, [Shape(16)] Tensor extra)
            {
                var x = Relu(Conv2d(image, 4, kernel: 3, padding: 1));
                for (int i = 0; i < 2; i++)
                    x = Block(x, x.Channels);
                var h = Relu(Dense(Flatten(MaxPool2d(x, 2)), 16));
                var s = Sigmoid(Shared(h));
                return Dense(Shared(s) + extra, 3, name: "head");
            }

            Tensor Block(Tensor x, int channels) => Relu(Conv2d(x, channels, 3, padding: 1) + x);
        }
        """;
}
