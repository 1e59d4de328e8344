using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Generative;

// The generative models as declared networks. Layer names follow the PyTorch examples they mirror
// (pytorch/examples vae/main.py: fc1, fc21, fc22, fc3, fc4), so a decoder-only network can take the
// trained decoder's weights by name (see Weights.CopyByName).

/// <summary>
/// The classic VAE (Kingma and Welling; pytorch/examples vae): 784-400-(20 mean, 20 log-variance)-400-784 with ReLU.
/// The reconstruction is returned as logits (the Bernoulli decoder's sigmoid lives in the BCE-with-logits loss).
/// The reparameterization z = mean + exp(0.5 logVar) * noise takes its standard-normal noise as a second input.
/// </summary>
[Network]
public partial class Vae
{
    (Tensor Logits, Tensor Mean, Tensor LogVar) Forward([Shape(784)] Tensor image, [Shape(20)] Tensor noise)
    {
        var h = Relu(Dense(image, 400, name: "fc1"));
        var mean = Dense(h, 20, name: "fc21");
        var logVar = Dense(h, 20, name: "fc22");
        var z = mean + Exp(Scale(logVar, 0.5)) * noise;
        var logits = Dense(Relu(Dense(z, 400, name: "fc3")), 784, name: "fc4");
        return (logits, mean, logVar);
    }
}

/// <summary>The decoder half of <see cref="Vae"/> (same parameter names): latent code -> pixel logits.</summary>
[Network]
public partial class VaeDecoder
{
    Tensor Forward([Shape(20)] Tensor z) => Dense(Relu(Dense(z, 400, name: "fc3")), 784, name: "fc4");
}

/// <summary><see cref="Vae"/> with a 2-d latent space (784-400-2-400-784), whose decoder can be drawn as a manifold.</summary>
[Network]
public partial class Vae2
{
    (Tensor Logits, Tensor Mean, Tensor LogVar) Forward([Shape(784)] Tensor image, [Shape(2)] Tensor noise)
    {
        var h = Relu(Dense(image, 400, name: "fc1"));
        var mean = Dense(h, 2, name: "fc21");
        var logVar = Dense(h, 2, name: "fc22");
        var z = mean + Exp(Scale(logVar, 0.5)) * noise;
        var logits = Dense(Relu(Dense(z, 400, name: "fc3")), 784, name: "fc4");
        return (logits, mean, logVar);
    }
}

/// <summary>The decoder half of <see cref="Vae2"/>.</summary>
[Network]
public partial class Vae2Decoder
{
    Tensor Forward([Shape(2)] Tensor z) => Dense(Relu(Dense(z, 400, name: "fc3")), 784, name: "fc4");
}

/// <summary>
/// DCGAN-style generator for 28x28 digits: noise (100) -> Dense -> 128x7x7 -> BatchNorm, ReLU ->
/// ConvTranspose2d 64x14x14 -> BatchNorm, ReLU -> ConvTranspose2d 1x28x28 -> Tanh (pixels in [-1, 1]).
/// </summary>
[Network]
public partial class DcganGenerator
{
    Tensor Forward([Shape(100)] Tensor noise)
    {
        var x = Relu(BatchNorm(Reshape(Dense(noise, 128 * 7 * 7, bias: false, name: "fc"), 128, 7, 7), name: "bn0"));
        x = Relu(BatchNorm(ConvTranspose2d(x, 64, 4, stride: 2, padding: 1, bias: false, name: "up1"), name: "bn1"));
        return Flatten(Tanh(ConvTranspose2d(x, 1, 4, stride: 2, padding: 1, name: "up2")));
    }
}

/// <summary>
/// DCGAN-style discriminator: 1x28x28 -> Conv2d stride 2 (64x14x14), LeakyReLU 0.2 -> Conv2d stride 2 (128x7x7),
/// BatchNorm, LeakyReLU 0.2 -> Dense to one logit ("real"). As in DCGAN, every layer but the first is batch-normalized;
/// real and fake batches go through separately, so each is normalized with its own statistics.
/// </summary>
[Network]
public partial class DcganDiscriminator
{
    Tensor Forward([Shape(1, 28, 28)] Tensor image)
    {
        var x = LeakyRelu(Conv2d(image, 64, 4, stride: 2, padding: 1, name: "conv1"), 0.2);
        x = LeakyRelu(BatchNorm(Conv2d(x, 128, 4, stride: 2, padding: 1, bias: false, name: "conv2"), name: "bn2"), 0.2);
        return Dense(Flatten(x), 1, name: "fc");
    }
}

/// <summary>Conditional generator: the label's one-hot vector is concatenated to the noise.</summary>
[Network]
public partial class ConditionalGenerator
{
    Tensor Forward([Shape(100)] Tensor noise, [Shape(10)] Tensor label)
    {
        var x = Relu(BatchNorm(Reshape(Dense(Concat(noise, label), 128 * 7 * 7, bias: false, name: "fc"), 128, 7, 7), name: "bn0"));
        x = Relu(BatchNorm(ConvTranspose2d(x, 64, 4, stride: 2, padding: 1, bias: false, name: "up1"), name: "bn1"));
        return Flatten(Tanh(ConvTranspose2d(x, 1, 4, stride: 2, padding: 1, name: "up2")));
    }
}

/// <summary>
/// Conditional discriminator: the label's one-hot vector enters as 10 extra constant planes (10x14x14) concatenated to
/// the first convolution's features, so the second convolution sees image features and label together.
/// </summary>
[Network]
public partial class ConditionalDiscriminator
{
    Tensor Forward([Shape(1, 28, 28)] Tensor image, [Shape(10, 14, 14)] Tensor labelPlanes)
    {
        var x = LeakyRelu(Conv2d(image, 64, 4, stride: 2, padding: 1, name: "conv1"), 0.2);
        x = LeakyRelu(BatchNorm(Conv2d(Concat(x, labelPlanes), 128, 4, stride: 2, padding: 1, bias: false, name: "conv2"), name: "bn2"), 0.2);
        return Dense(Flatten(x), 1, name: "fc");
    }
}

/// <summary>
/// pix2pix U-Net generator for 28x28 inpainting. The condition has two channels: the digit with a block erased (in
/// [-1, 1], erased pixels set to the background -1) and the mask of the erased block (1 inside). Encoder
/// 28 -> 14 -> 7 -> 4 with strided convolutions, BatchNorm and LeakyReLU 0.2; decoder 4 -> 7 -> 14 -> 28 with
/// transposed convolutions, BatchNorm and ReLU, each concatenated with the encoder features of the same size
/// (skip connections), the last one with the condition itself, so known pixels pass straight to the 3x3 output
/// convolution; Tanh output.
/// </summary>
[Network]
public partial class UNetGenerator
{
    Tensor Forward([Shape(2, 28, 28)] Tensor condition)
    {
        var e1 = LeakyRelu(Conv2d(condition, 32, 4, stride: 2, padding: 1, name: "down1"), 0.2);                                          // 32x14x14
        var e2 = LeakyRelu(BatchNorm(Conv2d(e1, 64, 4, stride: 2, padding: 1, bias: false, name: "down2"), name: "down2.bn"), 0.2);         // 64x7x7
        var e3 = LeakyRelu(Conv2d(e2, 128, 3, stride: 2, padding: 1, name: "down3"), 0.2);                                                  // 128x4x4
        var d3 = Relu(BatchNorm(ConvTranspose2d(e3, 64, 3, stride: 2, padding: 1, bias: false, name: "up3"), name: "up3.bn"));              // 64x7x7
        var d2 = Relu(BatchNorm(ConvTranspose2d(Concat(d3, e2), 32, 4, stride: 2, padding: 1, bias: false, name: "up2"), name: "up2.bn"));  // 32x14x14
        var d1 = Relu(BatchNorm(ConvTranspose2d(Concat(d2, e1), 8, 4, stride: 2, padding: 1, bias: false, name: "up1"), name: "up1.bn"));    // 8x28x28
        return Flatten(Tanh(Conv2d(Concat(d1, condition), 1, 3, padding: 1, name: "out")));                                                 // 1x28x28
    }
}

/// <summary>
/// PatchGAN discriminator: the condition (2 channels) and an image (real or generated) concatenated along channels,
/// two strided convolutions (LeakyReLU 0.2, BatchNorm on the second) and a 3x3 convolution to a 7x7 grid of logits,
/// each judging one overlapping patch (receptive field 16x16 pixels).
/// </summary>
[Network]
public partial class PatchDiscriminator
{
    Tensor Forward([Shape(1, 28, 28)] Tensor image, [Shape(2, 28, 28)] Tensor condition)
    {
        var x = LeakyRelu(Conv2d(Concat(condition, image), 32, 4, stride: 2, padding: 1, name: "conv1"), 0.2);                               // 32x14x14
        x = LeakyRelu(BatchNorm(Conv2d(x, 64, 4, stride: 2, padding: 1, bias: false, name: "conv2"), name: "conv2.bn"), 0.2);               // 64x7x7
        return Flatten(Conv2d(x, 1, 3, padding: 1, name: "patch"));                                                                         // 1x7x7 logits
    }
}
