using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using NetGen;
using NetGen.Data;
using NetGen.Examples.LeNet5;
using SkiaSharp;

// netgen-lenet5: classifies handwritten digits with a LeNet-5 trained by examples/LeNet5.
//   netgen-lenet5 digit.png --weights lenet5.safetensors
//   netgen-lenet5 t10k-images-idx3-ubyte.gz --weights lenet5.safetensors --count 10
// Prints one line per image: index, predicted digit, its probability. Exit codes: 0 ok, 1 bad input
// file, 2 bad command line.

const string Usage = "usage: netgen-lenet5 <image.png | images.idx[.gz]> --weights <lenet5.safetensors> [--count N] [--time]";
string? inputPath = null, weightsPath = null;
int count = int.MaxValue;
bool time = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--weights" when i + 1 < args.Length: weightsPath = args[++i]; break;
        case "--count" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out count) && count > 0: i++; break;
        case "--time": time = true; break;
        case "-h" or "--help": Console.WriteLine(Usage); return 0;
        default:
            if (args[i].StartsWith('-') || inputPath is not null)
            {
                Console.Error.WriteLine($"error: unexpected argument '{args[i]}'\n{Usage}");
                return 2;
            }
            inputPath = args[i];
            break;
    }
}
if (inputPath is null || weightsPath is null)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var clock = Stopwatch.StartNew();
float[] pixels;
int images;
try
{
    (pixels, images) = ReadInput(inputPath, count);
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {inputPath}: {e.Message}");
    return 1;
}

var net = new LeNet5(new NetworkOptions { Capacity = 1, Seed = 1 });
try
{
    net.Load(weightsPath); // validates every tensor's name, shape and dtype against the compiled schema
}
catch (Exception e) when (e is IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

Span<float> probabilities = stackalloc float[LeNet5.OutputSize];
for (int n = 0; n < images; n++)
{
    var sample = pixels.AsSpan(n * LeNet5.InputSize, LeNet5.InputSize);
    Mnist.Normalize(sample); // the statistics examples/LeNet5 trains with
    var logits = net.Forward(sample, 1);
    Softmax(logits, probabilities);
    int digit = 0;
    for (int c = 1; c < probabilities.Length; c++) if (probabilities[c] > probabilities[digit]) digit = c;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n} {digit} {probabilities[digit]:F6}"));
    if (n == 0 && time) Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first prediction after {clock.Elapsed.TotalMilliseconds:F1} ms"));
}
return 0;

static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
{
    float max = float.NegativeInfinity;
    foreach (float v in logits) max = MathF.Max(max, v);
    float sum = 0;
    for (int i = 0; i < logits.Length; i++) sum += probabilities[i] = MathF.Exp(logits[i] - max);
    for (int i = 0; i < logits.Length; i++) probabilities[i] /= sum;
}

// IDX (gzipped or not, by magic bytes) or any image SkiaSharp decodes (PNG, JPEG, ...): grey, 28x28, [0, 1].
static (float[] Pixels, int Count) ReadInput(string path, int count)
{
    if (!File.Exists(path)) throw new FileNotFoundException("no such file", path);
    if (Idx.IsIdx(path))
    {
        var set = Idx.ReadImages(path, count);
        if (set.Rows != 28 || set.Columns != 28)
            throw new InvalidDataException($"LeNet-5 needs 28x28 images; this IDX file holds {set.Rows}x{set.Columns}");
        return (set.Pixels, set.Count);
    }
    using var bitmap = SKBitmap.Decode(path) ?? throw new InvalidDataException("not an IDX file and not an image SkiaSharp can decode");
    using var grey = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
    using (var canvas = new SKCanvas(grey))
    {
        // A 28x28 image is copied pixel for pixel; anything else is resampled to 28x28.
        canvas.Clear(SKColors.Black);
        using var image = SKImage.FromBitmap(bitmap);
        var sampling = bitmap.Width == 28 && bitmap.Height == 28 ? new SKSamplingOptions(SKFilterMode.Nearest) : new SKSamplingOptions(SKCubicResampler.Mitchell);
        canvas.DrawImage(image, new SKRect(0, 0, 28, 28), sampling);
    }
    var pixels = new float[28 * 28];
    var bytes = grey.GetPixelSpan();
    for (int i = 0; i < pixels.Length; i++) pixels[i] = bytes[i] / 255f;
    return (pixels, 1);
}
