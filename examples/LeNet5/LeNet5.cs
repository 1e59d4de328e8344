using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.LeNet5;

/// <summary>
/// The classic LeNet-5 (LeCun et al. 1998) as a NetGen network: C1 6@5x5 (padding 2 so 28x28 digits
/// keep the paper's 32x32 geometry), S2 average pooling, C3 16@5x5, S4 average pooling, C5 120@5x5,
/// F6 84 units, 10 outputs, tanh throughout. 61,706 parameters.
/// </summary>
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
        var x = AvgPool2d(Tanh(C1(image)), 2);   // S2: 6x14x14
        x = AvgPool2d(Tanh(C3(x)), 2);           // S4: 16x5x5
        x = Tanh(C5(x));                         // C5: 120x1x1
        return Output(Tanh(F6(Flatten(x))));     // 10 logits
    }
}
