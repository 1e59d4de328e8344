using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Zoo;

/// <summary>
/// ResNet-50 as torchvision builds it (<c>torchvision.models.resnet50</c>, "ResNet v1.5": the stride sits on the
/// bottleneck's 3x3 convolution, not on its first 1x1): the ResNet-18 stem, four stages of 3, 4, 6 and 3
/// bottleneck blocks (1x1 reduce, 3x3, 1x1 expand by 4, batch normalization after each), a projection
/// shortcut (<c>downsample</c>) in the first block of every stage, global average pooling and a 1000-way
/// <c>fc</c>. Names follow torchvision's <c>state_dict</c>. 25,557,032 parameters.
/// </summary>
[Network]
public partial class ResNet50
{
    /// <summary>A bottleneck block's output has this many times its width in channels.</summary>
    private const int Expansion = 4;

    Tensor Forward([Shape(3, 224, 224)] Tensor image)
    {
        var x = Relu(BatchNorm(Conv2d(image, 64, 7, stride: 2, padding: 3, bias: false, name: "conv1"), name: "bn1")); // 64x112x112
        x = MaxPool2d(x, 3, stride: 2, padding: 1);                                                                      // 64x56x56

        // (width, blocks, stride of the first block) of layer1 .. layer4
        var stages = new[] { (64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2) };
        int layer = 1;
        foreach (var (width, blocks, stride) in stages)
        {
            for (int i = 0; i < blocks; i++)
                x = Bottleneck(x, $"layer{layer}.{i}", width, i == 0 ? stride : 1);
            layer++;
        }                                                                                                                // 2048x7x7

        x = Flatten(GlobalAvgPool(x));                                                                                   // 2048
        return Dense(x, 1000, name: "fc");
    }

    /// <summary>torchvision's Bottleneck: 1x1 (width), 3x3 (width, carries the stride), 1x1 (width x 4), residual.</summary>
    Tensor Bottleneck(Tensor x, string name, int width, int stride)
    {
        var y = Relu(BatchNorm(Conv2d(x, width, 1, bias: false, name: $"{name}.conv1"), name: $"{name}.bn1"));
        y = Relu(BatchNorm(Conv2d(y, width, 3, stride: stride, padding: 1, bias: false, name: $"{name}.conv2"), name: $"{name}.bn2"));
        y = BatchNorm(Conv2d(y, width * Expansion, 1, bias: false, name: $"{name}.conv3"), name: $"{name}.bn3");

        var shortcut = stride != 1 || x.Channels != width * Expansion
            ? BatchNorm(Conv2d(x, width * Expansion, 1, stride: stride, bias: false, name: $"{name}.downsample.0"), name: $"{name}.downsample.1")
            : Identity(x);
        return Relu(y + shortcut);
    }
}
