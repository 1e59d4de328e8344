using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Zoo;

/// <summary>
/// AlexNet as torchvision builds it (<c>torchvision.models.alexnet</c>, the single-GPU variant of
/// Krizhevsky et al. 2012 from "One weird trick"): five convolutions, three overlapping max poolings,
/// a 6x6 adaptive average pooling and a 4096-4096-1000 classifier with dropout. Layer names follow
/// torchvision's <c>state_dict</c> (<c>features.0.weight</c>, ..., <c>classifier.6.bias</c>): the index is
/// the module's position in its <c>nn.Sequential</c>, counting the ReLU, MaxPool and Dropout modules
/// that hold no weights. 61,100,840 parameters.
/// </summary>
[Network]
public partial class AlexNet
{
    Tensor Forward([Shape(3, 224, 224)] Tensor image)
    {
        // features
        var x = Relu(Conv2d(image, 64, 11, stride: 4, padding: 2, name: "features.0")); // 64x55x55
        x = MaxPool2d(x, 3, stride: 2);                                                    // 64x27x27
        x = Relu(Conv2d(x, 192, 5, padding: 2, name: "features.3"));                       // 192x27x27
        x = MaxPool2d(x, 3, stride: 2);                                                    // 192x13x13
        x = Relu(Conv2d(x, 384, 3, padding: 1, name: "features.6"));                       // 384x13x13
        x = Relu(Conv2d(x, 256, 3, padding: 1, name: "features.8"));                       // 256x13x13
        x = Relu(Conv2d(x, 256, 3, padding: 1, name: "features.10"));                      // 256x13x13
        x = MaxPool2d(x, 3, stride: 2);                                                    // 256x6x6

        // avgpool (a no-op at 224x224, but it lets other input sizes reach the same classifier)
        x = Flatten(AdaptiveAvgPool2d(x, 6, 6));                                           // 9216

        // classifier
        x = Relu(Dense(Dropout(x, 0.5), 4096, name: "classifier.1"));
        x = Relu(Dense(Dropout(x, 0.5), 4096, name: "classifier.4"));
        return Dense(x, 1000, name: "classifier.6");
    }
}
