using NetGen;
using static NetGen.Layers;

namespace NetGen.Integration.Tests;

// Small networks built from the zoo's ops and blocks, for gradient checks. Each block is written the
// way examples/Zoo writes it at full size.

/// <summary>GoogLeNet's inception block at toy size: four branches of conv + BatchNorm + ReLU, concatenated.</summary>
[Network]
public partial class InceptionBlockNet
{
    Tensor Forward([Shape(4, 5, 5)] Tensor x)
    {
        var b1 = Basic(x, 2, 1, "branch1");
        var b2 = Basic(Basic(x, 2, 1, "branch2.0"), 3, 3, "branch2.1");
        var b3 = Basic(Basic(x, 1, 1, "branch3.0"), 2, 3, "branch3.1");
        var b4 = Basic(MaxPool2d(x, 3, stride: 1, padding: 1, ceilMode: true), 2, 1, "branch4.1");
        return Flatten(Concat(b1, b2, b3, b4));
    }

    Tensor Basic(Tensor x, int channels, int kernel, string name) =>
        Relu(BatchNorm(Conv2d(x, channels, kernel, padding: kernel / 2, bias: false, name: name + ".conv"), epsilon: 0.001, name: name + ".bn"));
}

/// <summary>ResNet's basic block: identity shortcut when the shape is kept, 1x1 projection when it changes.</summary>
[Network]
public partial class BasicBlockNet
{
    Tensor Forward([Shape(3, 6, 6)] Tensor x) => Flatten(Block(x, 3, 1));

    Tensor Block(Tensor x, int channels, int stride)
    {
        var y = Relu(BatchNorm(Conv2d(x, channels, 3, stride, padding: 1, bias: false, name: "conv1"), name: "bn1"));
        y = BatchNorm(Conv2d(y, channels, 3, padding: 1, bias: false, name: "conv2"), name: "bn2");
        var shortcut = stride == 1 && x.Channels == channels
            ? Identity(x)
            : BatchNorm(Conv2d(x, channels, 1, stride, bias: false, name: "downsample.0"), name: "downsample.1");
        return Relu(y + shortcut);
    }
}

[Network]
public partial class BasicBlockDownsampleNet
{
    Tensor Forward([Shape(3, 6, 6)] Tensor x) => Flatten(Block(x, 4, 2));

    Tensor Block(Tensor x, int channels, int stride)
    {
        var y = Relu(BatchNorm(Conv2d(x, channels, 3, stride, padding: 1, bias: false, name: "conv1"), name: "bn1"));
        y = BatchNorm(Conv2d(y, channels, 3, padding: 1, bias: false, name: "conv2"), name: "bn2");
        var shortcut = stride == 1 && x.Channels == channels
            ? Identity(x)
            : BatchNorm(Conv2d(x, channels, 1, stride, bias: false, name: "downsample.0"), name: "downsample.1");
        return Relu(y + shortcut);
    }
}

/// <summary>ResNet-50's bottleneck (1x1, 3x3 with the stride, 1x1 expanding 4x) with a projection shortcut.</summary>
[Network]
public partial class BottleneckNet
{
    Tensor Forward([Shape(4, 6, 6)] Tensor x) => Flatten(Bottleneck(x, 2, 2));

    Tensor Bottleneck(Tensor x, int planes, int stride)
    {
        var y = Relu(BatchNorm(Conv2d(x, planes, 1, bias: false, name: "conv1"), name: "bn1"));
        y = Relu(BatchNorm(Conv2d(y, planes, 3, stride, padding: 1, bias: false, name: "conv2"), name: "bn2"));
        y = BatchNorm(Conv2d(y, planes * 4, 1, bias: false, name: "conv3"), name: "bn3");
        var shortcut = stride == 1 && x.Channels == planes * 4
            ? x
            : BatchNorm(Conv2d(x, planes * 4, 1, stride, bias: false, name: "downsample.0"), name: "downsample.1");
        return Relu(y + shortcut);
    }
}

/// <summary>BatchNorm2d in training mode (batch statistics), with a bias-free convolution in front.</summary>
[Network]
public partial class BatchNorm2dNet
{
    Tensor Forward([Shape(2, 5, 5)] Tensor x) => Flatten(Tanh(BatchNorm(Conv2d(x, 3, 3, bias: false), momentum: 0.2)));
}

/// <summary>BatchNorm1d over the features of a flat tensor.</summary>
[Network]
public partial class BatchNorm1dNet
{
    Tensor Forward([Shape(6)] Tensor x) => Tanh(BatchNorm(Dense(x, 5)));
}

[Network]
public partial class DropoutNet
{
    Tensor Forward([Shape(8)] Tensor x) => Dense(Dropout(Tanh(Dense(x, 12)), p: 0.3), 4);
}

[Network]
public partial class LocalResponseNormNet
{
    Tensor Forward([Shape(2, 4, 4)] Tensor x) => Flatten(LocalResponseNorm(Conv2d(x, 5, 1), size: 3, alpha: 0.5, beta: 0.75, k: 2.0));
}

[Network]
public partial class LeakyReluNet
{
    Tensor Forward([Shape(10)] Tensor x) => LeakyRelu(Dense(x, 6), slope: 0.1);
}

/// <summary>Uneven adaptive bins (7x5 -> 3x2), global pooling, Identity and a flat Concat.</summary>
[Network]
public partial class AdaptivePoolNet
{
    Tensor Forward([Shape(2, 7, 5)] Tensor x)
    {
        var y = Conv2d(x, 3, 1);
        var a = Flatten(AdaptiveAvgPool2d(y, 3, 2));
        var g = Flatten(GlobalAvgPool(Identity(y)));
        return Concat(a, g);
    }
}

/// <summary>MaxPool2d with padding and ceil mode (PyTorch's size rule: 7 -> 4 with k3 s2 p1 ceil).</summary>
[Network]
public partial class PaddedCeilMaxPoolNet
{
    Tensor Forward([Shape(2, 7, 7)] Tensor x) => Flatten(MaxPool2d(Conv2d(x, 2, 1), 3, stride: 2, padding: 1, ceilMode: true));
}

/// <summary>conv + BN + ReLU twice, then a classifier: the folding tests' network.</summary>
[Network]
public partial class FoldNet
{
    Tensor Forward([Shape(2, 6, 6)] Tensor x)
    {
        x = Relu(BatchNorm(Conv2d(x, 4, 3, padding: 1, name: "conv1"), name: "bn1"));
        x = Relu(BatchNorm(Conv2d(x, 4, 3, stride: 2, bias: false, name: "conv2"), name: "bn2"));
        return Dense(Flatten(x), 3, name: "fc");
    }
}
