using NetGen;
using static NetGen.Layers;

namespace NetGen.Integration.Tests;

// Small networks with the generative models' ops, for gradient checks.

[Network]
public partial class ConvTransposeNet
{
    Tensor Forward([Shape(3, 4, 4)] Tensor x) => Flatten(ConvTranspose2d(x, 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1));
}

[Network]
public partial class ConvTransposeNoBiasNet
{
    Tensor Forward([Shape(2, 3, 5)] Tensor x) => Flatten(ConvTranspose2d(x, 3, kernel: 2, bias: false));
}

[Network]
public partial class UpsampleNearestNet
{
    Tensor Forward([Shape(2, 3, 4)] Tensor x) => Flatten(Upsample(Conv2d(x, 2, 1), scale: 2));
}

[Network]
public partial class UpsampleBilinearNet
{
    Tensor Forward([Shape(2, 3, 4)] Tensor x) => Flatten(Upsample(Conv2d(x, 2, 1), scale: 3, bilinear: true));
}

[Network]
public partial class ExpScaleReshapeNet
{
    Tensor Forward([Shape(6)] Tensor x) => Flatten(Conv2d(Reshape(Exp(Scale(Dense(x, 18), 0.5)), 2, 3, 3), 1, 3, padding: 1));
}

/// <summary>A small U-Net: a strided encoder, a transposed-convolution decoder and a skip connection by Concat.</summary>
[Network]
public partial class TinyUNet
{
    Tensor Forward([Shape(1, 8, 8)] Tensor image)
    {
        var e1 = LeakyRelu(Conv2d(image, 4, 3, padding: 1, name: "down1"), 0.2);                                         // 4x8x8
        var e2 = LeakyRelu(BatchNorm(Conv2d(e1, 8, 4, stride: 2, padding: 1, bias: false, name: "down2"), name: "down2.bn"), 0.2); // 8x4x4
        var d1 = Relu(BatchNorm(ConvTranspose2d(e2, 4, 4, stride: 2, padding: 1, bias: false, name: "up1"), name: "up1.bn"));       // 4x8x8
        return Flatten(Tanh(Conv2d(Concat(d1, e1), 1, 3, padding: 1, name: "out")));                                 // skip connection
    }
}

/// <summary>A tiny VAE: a noise input for the reparameterization trick and three outputs; mean is also read inside.</summary>
[Network]
public partial class TinyVae
{
    (Tensor Reconstruction, Tensor Mean, Tensor LogVar) Forward([Shape(12)] Tensor x, [Shape(3)] Tensor noise)
    {
        var h = Relu(Dense(x, 8, name: "encoder"));
        var mean = Dense(h, 3, name: "mean");
        var logVar = Dense(h, 3, name: "logvar");
        var z = mean + Exp(Scale(logVar, 0.5)) * noise;
        var reconstruction = Sigmoid(Dense(Relu(Dense(z, 8, name: "decoder")), 12, name: "reconstruction"));
        return (reconstruction, mean, logVar);
    }
}
