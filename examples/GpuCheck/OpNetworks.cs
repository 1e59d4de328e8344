using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.GpuCheck;

// One small network per op (or per op variant) that has a CUDA path, sized so cuDNN has real choices to make. The
// self-check runs each forward, backward and through training steps on CUDA and on the CPU and compares them.

/// <summary>Convolution with bias, padding 1, then Flatten.</summary>
[Network]
public partial class ConvCheck
{
    Tensor Forward([Shape(3, 16, 16)] Tensor x) => Flatten(Conv2d(x, 8, 3, padding: 1));
}

/// <summary>Strided 5x5 convolution without bias, then ReLU.</summary>
[Network]
public partial class StridedConvCheck
{
    Tensor Forward([Shape(4, 15, 15)] Tensor x) => Flatten(Relu(Conv2d(x, 6, 5, stride: 2, bias: false)));
}

/// <summary>Dense without bias into Dense with bias, with tanh, sigmoid and leaky ReLU between.</summary>
[Network]
public partial class DenseActivationsCheck
{
    Tensor Forward([Shape(40)] Tensor x) => Sigmoid(Dense(LeakyRelu(Tanh(Dense(x, 24, bias: false)), slope: 0.1), 10));
}

/// <summary>Max pooling 2x2 and overlapping 3x3 stride 2 padding 1 (ResNet's stem pool).</summary>
[Network]
public partial class MaxPoolCheck
{
    Tensor Forward([Shape(2, 12, 12)] Tensor x) => Flatten(MaxPool2d(MaxPool2d(Conv2d(x, 4, 1), 2), 3, stride: 2, padding: 1));
}

/// <summary>Average pooling (LeNet's subsampling), then adaptive average pooling 8x8 -> 3x3 (unequal, overlapping bins).</summary>
[Network]
public partial class AvgPoolCheck
{
    Tensor Forward([Shape(3, 16, 16)] Tensor x) => Flatten(AdaptiveAvgPool2d(AvgPool2d(Conv2d(x, 4, 3, padding: 1), 2), 3, 3));
}

/// <summary>GoogLeNet's pieces: ceil-mode max pooling whose last window is clipped, and a Concat of two branches.</summary>
[Network]
public partial class CeilPoolConcatCheck
{
    Tensor Forward([Shape(3, 14, 14)] Tensor x)
    {
        var pooled = MaxPool2d(Conv2d(x, 4, 3, padding: 1), 3, stride: 2, ceilMode: true);                 // 4x7x7
        var branch = MaxPool2d(pooled, 3, stride: 1, padding: 1, ceilMode: true);                         // 4x7x7
        return Flatten(Concat(Relu(Conv2d(pooled, 3, 1)), Conv2d(branch, 2, 3, padding: 1)));           // 5x7x7
    }
}

/// <summary>Spatial batch normalization after a convolution, global average pooling after it.</summary>
[Network]
public partial class BatchNorm2dCheck
{
    Tensor Forward([Shape(3, 10, 10)] Tensor x) => Flatten(GlobalAvgPool(Relu(BatchNorm(Conv2d(x, 8, 3, padding: 1, bias: false)))));
}

/// <summary>Batch normalization over features.</summary>
[Network]
public partial class BatchNorm1dCheck
{
    Tensor Forward([Shape(12)] Tensor x) => Tanh(BatchNorm(Dense(x, 16)));
}

/// <summary>A residual sum with a fan-out (x feeds the branch and the shortcut) and a Reshape.</summary>
[Network]
public partial class ResidualCheck
{
    Tensor Forward([Shape(48)] Tensor x)
    {
        var image = Reshape(x, 3, 4, 4);
        var y = Conv2d(Relu(Conv2d(image, 3, 3, padding: 1)), 3, 3, padding: 1);
        return Flatten(Relu(y + image));
    }
}

/// <summary>Dropout between two Dense layers: the mask comes from the same counter-based draw on both sides.</summary>
[Network]
public partial class DropoutCheck
{
    Tensor Forward([Shape(32)] Tensor x) => Dense(Dropout(Relu(Dense(x, 64)), 0.3), 8);
}

/// <summary>Softmax as a layer (not inside the loss), after a Dense.</summary>
[Network]
public partial class SoftmaxCheck
{
    Tensor Forward([Shape(20)] Tensor x) => Softmax(Dense(x, 12));
}

/// <summary>A gate (Tensor * Tensor), Exp and Scale: the VAE's reparameterisation pieces.</summary>
[Network]
public partial class MultiplyExpScaleCheck
{
    Tensor Forward([Shape(16)] Tensor x)
    {
        var h = Tanh(Dense(x, 16));
        var gate = Sigmoid(Dense(x, 16));
        return Dense(Exp(Scale(h * gate, 0.5)) + x, 6);
    }
}

/// <summary>Cross-channel local response normalization between convolutions.</summary>
[Network]
public partial class LrnCheck
{
    Tensor Forward([Shape(3, 8, 8)] Tensor x) => Flatten(Conv2d(LocalResponseNorm(Relu(Conv2d(x, 7, 3, padding: 1)), size: 5, alpha: 0.5, beta: 0.75, k: 2.0), 3, 1));
}

/// <summary>Transposed convolutions: the DCGAN generator's 4/2/1, and one with output padding and no bias.</summary>
[Network]
public partial class ConvTransposeCheck
{
    Tensor Forward([Shape(4, 5, 5)] Tensor x) =>
        Flatten(ConvTranspose2d(Relu(ConvTranspose2d(x, 6, 4, stride: 2, padding: 1)), 3, 3, stride: 2, padding: 1, outputPadding: 1, bias: false));
}

/// <summary>Nearest and bilinear upsampling by 2 (align_corners=False), each followed by a convolution.</summary>
[Network]
public partial class UpsampleCheck
{
    Tensor Forward([Shape(3, 5, 6)] Tensor x) =>
        Flatten(Conv2d(Upsample(Relu(Conv2d(Upsample(x, 2), 4, 3, padding: 1)), 2, bilinear: true), 2, 3, padding: 1));
}

/// <summary>Step and Stack: three steps of a sequence reversed, then a Dense applied per step.</summary>
[Network]
public partial class StepStackCheck
{
    Tensor Forward([Shape(3, 8)] Tensor x) => Flatten(Dense(Stack(Step(x, -1), Step(x, 1), Step(x, 0)), 5));
}

/// <summary>LSTM, two layers, bidirectional, every step returned, then a per-step Dense (many-to-many).</summary>
[Network]
public partial class LstmCheck
{
    Tensor Forward([Shape(7, 6)] Tensor x) => Flatten(Dense(Lstm(x, hidden: 8, layers: 2, bidirectional: true), 3));
}

/// <summary>GRU, two layers, the last state only (many-to-one), then a Dense.</summary>
[Network]
public partial class GruCheck
{
    Tensor Forward([Shape(6, 5)] Tensor x) => Dense(Gru(x, hidden: 7, layers: 2, returnSequences: false), 2);
}

/// <summary>Elman RNN (tanh), bidirectional, the last state of each direction.</summary>
[Network]
public partial class RnnCheck
{
    Tensor Forward([Shape(9, 4)] Tensor x) => Rnn(x, hidden: 6, bidirectional: true, returnSequences: false);
}

/// <summary>LSTM with initial hidden and cell states as inputs, then a per-step Dense (three inputs).</summary>
[Network]
public partial class LstmInitialStateCheck
{
    Tensor Forward([Shape(5, 3)] Tensor x, [Shape(4)] Tensor h0, [Shape(4)] Tensor c0) =>
        Flatten(Dense(Lstm(x, hidden: 4, initialHidden: h0, initialCell: c0), 2));
}
