using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Zoo;

/// <summary>
/// VGG-16 (Simonyan and Zisserman 2014, configuration D, no batch normalization) as torchvision builds it
/// (<c>torchvision.models.vgg16</c>): thirteen 3x3 convolutions in five blocks separated by 2x2 max pooling,
/// a 7x7 adaptive average pooling and a 4096-4096-1000 classifier with dropout. Parameter names follow
/// torchvision's <c>state_dict</c>: <c>features.N</c>, where N is the module's position in the
/// <c>features</c> Sequential (each convolution is followed by a ReLU, each 'M' is one MaxPool), and
/// <c>classifier.0/3/6</c>. 138,357,544 parameters.
/// </summary>
[Network]
public partial class Vgg16
{
    /// <summary>'M' in torchvision's configuration lists: a 2x2 max pooling.</summary>
    private const int M = 0;

    Tensor Forward([Shape(3, 224, 224)] Tensor image)
    {
        // torchvision's cfgs["D"]
        var configuration = new[] { 64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M };

        var x = image;
        int index = 0; // position in torchvision's features Sequential
        foreach (int v in configuration)
        {
            if (v == M)
            {
                x = MaxPool2d(x, 2);
                index += 1;
            }
            else
            {
                x = Relu(Conv2d(x, v, 3, padding: 1, name: $"features.{index}"));
                index += 2; // the Conv2d and its ReLU
            }
        }                                                                        // 512x7x7

        x = Flatten(AdaptiveAvgPool2d(x, 7, 7));                                 // 25088

        // classifier: Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
        x = Dropout(Relu(Dense(x, 4096, name: "classifier.0")), 0.5);
        x = Dropout(Relu(Dense(x, 4096, name: "classifier.3")), 0.5);
        return Dense(x, 1000, name: "classifier.6");
    }
}
