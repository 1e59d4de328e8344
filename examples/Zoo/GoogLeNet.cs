using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Zoo;

/// <summary>
/// GoogLeNet (Inception v1, Szegedy et al. 2014) as torchvision builds it (<c>torchvision.models.googlenet</c>
/// without the auxiliary classifiers, as torchvision uses it once trained): every convolution is a
/// <c>BasicConv2d</c> (convolution without bias, batch normalization with epsilon 0.001, ReLU), max poolings
/// round up (<c>ceil_mode=True</c>), nine Inception modules, global average pooling, dropout 0.2 and a
/// 1000-way <c>fc</c>. Names follow torchvision's <c>state_dict</c>: <c>conv1.conv.weight</c>,
/// <c>conv1.bn.running_mean</c>, <c>inception3a.branch2.0.conv.weight</c>, ... 6,624,904 parameters.
/// </summary>
[Network]
public partial class GoogLeNet
{
    Tensor Forward([Shape(3, 224, 224)] Tensor image)
    {
        var x = BasicConv2d(image, "conv1", 64, 7, stride: 2, padding: 3);   // 64x112x112
        x = MaxPool2d(x, 3, stride: 2, ceilMode: true);                        // 64x56x56
        x = BasicConv2d(x, "conv2", 64, 1);
        x = BasicConv2d(x, "conv3", 192, 3, padding: 1);                       // 192x56x56
        x = MaxPool2d(x, 3, stride: 2, ceilMode: true);                        // 192x28x28

        //                         1x1  3x3 reduce, 3x3  "5x5" reduce, "5x5"  pool proj
        x = Inception(x, "inception3a", 64, 96, 128, 16, 32, 32);             // 256x28x28
        x = Inception(x, "inception3b", 128, 128, 192, 32, 96, 64);           // 480x28x28
        x = MaxPool2d(x, 3, stride: 2, ceilMode: true);                        // 480x14x14

        x = Inception(x, "inception4a", 192, 96, 208, 16, 48, 64);            // 512x14x14
        x = Inception(x, "inception4b", 160, 112, 224, 24, 64, 64);
        x = Inception(x, "inception4c", 128, 128, 256, 24, 64, 64);
        x = Inception(x, "inception4d", 112, 144, 288, 32, 64, 64);           // 528x14x14
        x = Inception(x, "inception4e", 256, 160, 320, 32, 128, 128);         // 832x14x14
        x = MaxPool2d(x, 2, stride: 2, ceilMode: true);                        // 832x7x7

        x = Inception(x, "inception5a", 256, 160, 320, 32, 128, 128);
        x = Inception(x, "inception5b", 384, 192, 384, 48, 128, 128);         // 1024x7x7

        x = Flatten(GlobalAvgPool(x));                                         // 1024
        x = Dropout(x, 0.2);
        return Dense(x, 1000, name: "fc");
    }

    /// <summary>torchvision's Inception module: four branches concatenated along the channels.</summary>
    Tensor Inception(Tensor x, string name, int ch1x1, int ch3x3Reduce, int ch3x3, int ch5x5Reduce, int ch5x5, int poolProjection)
    {
        var branch1 = BasicConv2d(x, $"{name}.branch1", ch1x1, 1);

        var branch2 = BasicConv2d(x, $"{name}.branch2.0", ch3x3Reduce, 1);
        branch2 = BasicConv2d(branch2, $"{name}.branch2.1", ch3x3, 3, padding: 1);

        // The paper's 5x5 branch; torchvision's implementation (and its pretrained weights) use a 3x3 kernel here.
        var branch3 = BasicConv2d(x, $"{name}.branch3.0", ch5x5Reduce, 1);
        branch3 = BasicConv2d(branch3, $"{name}.branch3.1", ch5x5, 3, padding: 1);

        var branch4 = MaxPool2d(x, 3, stride: 1, padding: 1, ceilMode: true);
        branch4 = BasicConv2d(branch4, $"{name}.branch4.1", poolProjection, 1);

        return Concat(branch1, branch2, branch3, branch4);
    }

    /// <summary>torchvision's BasicConv2d: convolution without bias, batch normalization (epsilon 0.001), ReLU.</summary>
    Tensor BasicConv2d(Tensor x, string name, int outChannels, int kernel, int stride = 1, int padding = 0)
        => Relu(BatchNorm(Conv2d(x, outChannels, kernel, stride: stride, padding: padding, bias: false, name: $"{name}.conv"),
                          epsilon: 0.001, name: $"{name}.bn"));
}
