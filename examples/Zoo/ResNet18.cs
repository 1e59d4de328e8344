using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Zoo;

/// <summary>
/// ResNet-18 (He et al. 2015) as torchvision builds it (<c>torchvision.models.resnet18</c>): a 7x7/2 stem
/// with batch normalization and a 3x3/2 max pooling, four stages of two basic blocks (64, 128, 256 and 512
/// channels; stages 2-4 halve the resolution in their first block), global average pooling and a 1000-way
/// <c>fc</c>. A block whose shape changes adds a 1x1 convolution and batch normalization to its shortcut
/// (<c>downsample</c>). Names follow torchvision's <c>state_dict</c>: <c>conv1</c>, <c>bn1</c>,
/// <c>layer2.0.conv1</c>, <c>layer2.0.downsample.0</c>, <c>layer2.0.downsample.1</c>, ..., <c>fc</c>.
/// 11,689,512 parameters.
/// </summary>
[Network]
public partial class ResNet18
{
    Tensor Forward([Shape(3, 224, 224)] Tensor image)
    {
        var x = Relu(BatchNorm(Conv2d(image, 64, 7, stride: 2, padding: 3, bias: false, name: "conv1"), name: "bn1")); // 64x112x112
        x = MaxPool2d(x, 3, stride: 2, padding: 1);                                                                      // 64x56x56

        // (channels, blocks, stride of the first block) of layer1 .. layer4
        var stages = new[] { (64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2) };
        int layer = 1;
        foreach (var (channels, blocks, stride) in stages)
        {
            for (int i = 0; i < blocks; i++)
                x = BasicBlock(x, $"layer{layer}.{i}", channels, i == 0 ? stride : 1);
            layer++;
        }                                                                                                                // 512x7x7

        x = Flatten(GlobalAvgPool(x));                                                                                   // 512
        return Dense(x, 1000, name: "fc");
    }

    /// <summary>torchvision's BasicBlock: two 3x3 convolutions with batch normalization and a residual connection.</summary>
    Tensor BasicBlock(Tensor x, string name, int channels, int stride)
    {
        var y = Relu(BatchNorm(Conv2d(x, channels, 3, stride: stride, padding: 1, bias: false, name: $"{name}.conv1"), name: $"{name}.bn1"));
        y = BatchNorm(Conv2d(y, channels, 3, padding: 1, bias: false, name: $"{name}.conv2"), name: $"{name}.bn2");

        var shortcut = stride != 1 || x.Channels != channels
            ? BatchNorm(Conv2d(x, channels, 1, stride: stride, bias: false, name: $"{name}.downsample.0"), name: $"{name}.downsample.1")
            : Identity(x);
        return Relu(y + shortcut);
    }
}
