using NetGen;
using static NetGen.Layers;

namespace NetGen.Integration.Tests;

/// <summary>The DAG from the generator snapshot: helper blocks in a loop, residual adds, a shared layer, two inputs.</summary>
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
