using NetGen;
using static NetGen.Layers;

namespace NetGen.Integration.Tests;

// Small networks, one per op, for gradient checks. Each is generated at build time by NetGen.

[Network]
public partial class ConvNet
{
    Tensor Forward([Shape(2, 6, 6)] Tensor x) => Flatten(Conv2d(x, 3, kernel: 3, padding: 1));
}

[Network]
public partial class StridedConvNoBiasNet
{
    Tensor Forward([Shape(2, 7, 7)] Tensor x) => Flatten(Conv2d(x, 3, kernel: 3, stride: 2, bias: false));
}

[Network]
public partial class DenseNet
{
    Tensor Forward([Shape(7)] Tensor x) => Dense(x, 5);
}

[Network]
public partial class DenseNoBiasNet
{
    Tensor Forward([Shape(7)] Tensor x) => Dense(x, 5, bias: false);
}

[Network]
public partial class AvgPoolNet
{
    Tensor Forward([Shape(2, 6, 6)] Tensor x) => Flatten(AvgPool2d(Conv2d(x, 2, kernel: 1), 2));
}

[Network]
public partial class MaxPoolNet
{
    Tensor Forward([Shape(2, 6, 6)] Tensor x) => Flatten(MaxPool2d(Conv2d(x, 2, kernel: 1), 2));
}

[Network]
public partial class OverlappingMaxPoolNet
{
    Tensor Forward([Shape(2, 7, 7)] Tensor x) => Flatten(MaxPool2d(x, 3, stride: 2));
}

[Network]
public partial class TanhNet
{
    Tensor Forward([Shape(6)] Tensor x) => Tanh(Dense(x, 5));
}

[Network]
public partial class ReluNet
{
    Tensor Forward([Shape(6)] Tensor x) => Relu(Dense(x, 5));
}

[Network]
public partial class SigmoidNet
{
    Tensor Forward([Shape(6)] Tensor x) => Sigmoid(Dense(x, 5));
}

[Network]
public partial class SoftmaxNet
{
    Tensor Forward([Shape(6)] Tensor x) => Softmax(Dense(x, 5));
}

[Network]
public partial class FlattenNet
{
    Tensor Forward([Shape(2, 3, 3)] Tensor x) => Dense(Flatten(Tanh(x)), 4);
}

/// <summary>Tensor + with a fan-out (x feeds two consumers) and Tensor * (gating).</summary>
[Network]
public partial class AddMultiplyNet
{
    Tensor Forward([Shape(6)] Tensor x)
    {
        var h = Tanh(Dense(x, 6));
        var gate = Sigmoid(Dense(x, 6));
        return Dense(h * gate + x, 3);
    }
}

/// <summary>A member layer called twice shares one weight tensor; its gradient accumulates from both calls.</summary>
[Network]
public partial class SharedWeightsNet
{
    [Dense(4)] private partial Tensor Cell(Tensor x);

    Tensor Forward([Shape(4)] Tensor x)
    {
        for (int step = 0; step < 3; step++)
            x = Tanh(Cell(x));
        return x;
    }
}

/// <summary>The 2-2-1 worked example: identity activations, no biases.</summary>
[Network]
public partial class WorkedExample
{
    [Dense(2, Bias = false)] private partial Tensor Hidden(Tensor x);
    [Dense(1, Bias = false)] private partial Tensor Out(Tensor x);

    Tensor Forward([Shape(2)] Tensor x) => Out(Hidden(x));
}

/// <summary>A single layer: a linear classifier, which cannot represent XOR.</summary>
[Network]
public partial class SingleLayerXor
{
    Tensor Forward([Shape(2)] Tensor x) => Sigmoid(Dense(x, 1));
}

/// <summary>The 2-2-1 sigmoid MLP that learns XOR.</summary>
[Network]
public partial class MlpXor
{
    Tensor Forward([Shape(2)] Tensor x) => Sigmoid(Dense(Sigmoid(Dense(x, 2)), 1));
}
