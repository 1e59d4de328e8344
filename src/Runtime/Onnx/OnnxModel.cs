using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using NetGen.IO;

namespace NetGen.Onnx;

/// <summary>
/// Builds an ONNX model (opset 13, IR version 8) of a network's inference graph, one call per layer, and
/// writes it with a small protobuf writer (field numbers from onnx/onnx.proto). Generated networks call it
/// from <c>ExportOnnx(path)</c>; tensor names are the checkpoint names (<c>layer1.0.conv1.weight</c>), node
/// outputs the layer names, and the batch dimension is the symbolic <c>batch</c>.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>The opset every node uses.</summary>
    public const int Opset = 13;

    private readonly string _name;
    private readonly List<ProtoWriter> _nodes = new();
    private readonly List<ProtoWriter> _inputs = new();
    private readonly List<ProtoWriter> _outputs = new();
    private readonly List<ProtoWriter> _initializers = new();
    private readonly HashSet<string> _initializerNames = new(StringComparer.Ordinal);
    private int _constants;

    public OnnxModel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _name = name;
    }

    // ------------------------------------------------------------------ graph inputs, outputs, weights

    /// <summary>A graph input of shape [batch, dims...].</summary>
    public void Input(string name, params int[] dims) => _inputs.Add(ValueInfo(name, dims));

    /// <summary>A graph output of shape [batch, dims...].</summary>
    public void Output(string name, params int[] dims) => _outputs.Add(ValueInfo(name, dims));

    /// <summary>Adds every tensor of <paramref name="schema"/> (parameters and buffers) as an initializer.</summary>
    public void Initializers(ReadOnlySpan<ParameterInfo> schema, ReadOnlySpan<float> values)
    {
        foreach (var p in schema) Initializer(p.Name, p.Shape, values.Slice(p.Offset, p.Length));
    }

    public void Initializer(string name, int[] shape, ReadOnlySpan<float> values)
    {
        if (!_initializerNames.Add(name)) throw new ArgumentException($"ONNX export: two initializers are named '{name}'.", nameof(name));
        var tensor = new ProtoWriter();
        foreach (int d in shape) tensor.Int64(1, d);       // dims
        tensor.Int64(2, 1);                                 // data_type FLOAT
        tensor.String(8, name);                             // name
        tensor.Bytes(9, LittleEndianBytes(values));         // raw_data
        _initializers.Add(tensor);
    }

    /// <summary>A float constant: a scalar for one value, else a 1-d tensor.</summary>
    private string FloatConstant(params float[] values) => Constant(1, values.Length > 1 ? values.Length : -1, LittleEndianBytes(values));

    /// <summary>An int64 1-d tensor (<paramref name="scalar"/>: a 0-d scalar of one value).</summary>
    private string Int64Constant(long[] values, bool scalar = false)
    {
        var bytes = new byte[8 * values.Length];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
        return Constant(7, scalar ? -1 : values.Length, bytes);
    }

    /// <summary>Adds an initializer named constN; <paramref name="length"/> -1 writes no dims (a scalar).</summary>
    private string Constant(int dataType, int length, byte[] rawData)
    {
        string name = "const" + (++_constants);
        var tensor = new ProtoWriter();
        if (length >= 0) tensor.Int64(1, length);           // dims
        tensor.Int64(2, dataType);                          // 1 FLOAT, 7 INT64
        tensor.String(8, name);
        tensor.Bytes(9, rawData);
        _initializers.Add(tensor);
        return name;
    }

    // ------------------------------------------------------------------ layers (NCHW, PyTorch semantics)

    public void Conv(string output, string input, string weight, string? bias, int kernel, int stride, int padding) =>
        Node("Conv", output, bias is null ? new[] { input, weight } : new[] { input, weight, bias },
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", padding, padding, padding, padding));

    /// <summary>Transposed convolution; ONNX's weight layout [in, out, k, k] is PyTorch's.</summary>
    public void ConvTranspose(string output, string input, string weight, string? bias, int kernel, int stride, int padding, int outputPadding) =>
        Node("ConvTranspose", output, bias is null ? new[] { input, weight } : new[] { input, weight, bias },
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", padding, padding, padding, padding),
            Ints("output_padding", outputPadding, outputPadding));

    /// <summary>Resize by an integer factor: PyTorch's nearest (asymmetric, floor) or bilinear with align_corners=False (half_pixel).</summary>
    public void Upsample(string output, string input, int scale, bool bilinear)
    {
        string scales = FloatConstant(1f, 1f, scale, scale);
        if (bilinear)
            Node("Resize", output, new[] { input, "", scales }, String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel"));
        else
            Node("Resize", output, new[] { input, "", scales }, String("mode", "nearest"), String("coordinate_transformation_mode", "asymmetric"),
                String("nearest_mode", "floor"));
    }

    /// <summary>output = factor * input.</summary>
    public void Scale(string output, string input, float factor) => Node("Mul", output, new[] { input, FloatConstant(factor) });

    /// <summary>Dense: y = x W^T + b with W stored [out, in] as in PyTorch.</summary>
    public void Dense(string output, string input, string weight, string? bias) =>
        Node("Gemm", output, bias is null ? new[] { input, weight } : new[] { input, weight, bias }, Int("transB", 1));

    public void MaxPool(string output, string input, int kernel, int stride, int padding, bool ceilMode) =>
        Node("MaxPool", output, new[] { input }, Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride),
            Ints("pads", padding, padding, padding, padding), Int("ceil_mode", ceilMode ? 1 : 0));

    public void AveragePool(string output, string input, int kernel, int stride) =>
        Node("AveragePool", output, new[] { input }, Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride));

    /// <summary>
    /// Adaptive average pooling: GlobalAveragePool for 1x1, else an AveragePool when the bins are even; uneven bins
    /// (PyTorch's overlapping windows) have no single ONNX operator.
    /// </summary>
    public void AdaptiveAveragePool(string output, string input, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        if (outHeight == 1 && outWidth == 1)
        {
            Node("GlobalAveragePool", output, new[] { input });
            return;
        }
        if (inHeight % outHeight != 0 || inWidth % outWidth != 0)
            throw new NotSupportedException($"ONNX export of '{output}': adaptive average pooling from {inHeight}x{inWidth} to {outHeight}x{outWidth} " +
                "has uneven bins, which no single ONNX operator computes; choose an input size divisible by the output size.");
        int kh = inHeight / outHeight, kw = inWidth / outWidth;
        Node("AveragePool", output, new[] { input }, Ints("kernel_shape", kh, kw), Ints("strides", kh, kw));
    }

    public void BatchNorm(string output, string input, string scale, string bias, string mean, string variance, float epsilon) =>
        Node("BatchNormalization", output, new[] { input, scale, bias, mean, variance }, Float("epsilon", epsilon));

    /// <summary>LocalResponseNorm. ONNX centres an even window one channel later than PyTorch, so only odd sizes export.</summary>
    public void LocalResponseNorm(string output, string input, int size, float alpha, float beta, float k)
    {
        if (size % 2 == 0)
            throw new NotSupportedException($"ONNX export of '{output}': LocalResponseNorm with an even size ({size}) places its window differently in ONNX than in PyTorch.");
        Node("LRN", output, new[] { input }, Int("size", size), Float("alpha", alpha), Float("beta", beta), Float("bias", k));
    }

    public void Flatten(string output, string input) => Node("Flatten", output, new[] { input }, Int("axis", 1));

    public void Concat(string output, params string[] inputs) => Node("Concat", output, inputs, Int("axis", 1));

    public void Softmax(string output, string input) => Node("Softmax", output, new[] { input }, Int("axis", 1));

    public void LeakyRelu(string output, string input, float slope) => Node("LeakyRelu", output, new[] { input }, Float("alpha", slope));

    /// <summary>An element-wise operator: Relu, Tanh, Sigmoid, Identity (one input) or Add, Mul (two).</summary>
    public void Elementwise(string op, string output, params string[] inputs) => Node(op, output, inputs);

    /// <summary>Stacks flat [batch, features] tensors into [batch, count, features].</summary>
    public void Stack(string output, int features, params string[] inputs)
    {
        Node("Concat", output + "/concat", inputs, Int("axis", 1));
        Reshape(output, output + "/concat", inputs.Length, features);
    }

    /// <summary>Time step t of a [batch, steps, features] sequence as [batch, features].</summary>
    public void Step(string output, string input, int t)
    {
        string index = Int64Constant(new long[] { t }, scalar: true);
        Node("Gather", output, new[] { input, index }, Int("axis", 1));
    }

    /// <summary>Layers ONNX export does not cover yet: a clear exception naming the layer.</summary>
    public void Unsupported(string layer, string what) =>
        throw new NotSupportedException($"ONNX export of '{layer}': {what} are not exported yet (their gate layouts differ from ONNX's LSTM/GRU operators).");

    /// <summary>Reshape to [batch, dims...].</summary>
    public void Reshape(string output, string input, params int[] dims)
    {
        var shape = new long[dims.Length + 1];
        shape[0] = -1;
        for (int i = 0; i < dims.Length; i++) shape[i + 1] = dims[i];
        Node("Reshape", output, new[] { input, Int64Constant(shape) });
    }

    // ------------------------------------------------------------------ writing

    /// <summary>The serialized ModelProto.</summary>
    public byte[] ToBytes()
    {
        var graph = new ProtoWriter();
        foreach (var node in _nodes) graph.Message(1, node);
        graph.String(2, _name);
        foreach (var tensor in _initializers) graph.Message(5, tensor);
        foreach (var input in _inputs) graph.Message(11, input);
        foreach (var output in _outputs) graph.Message(12, output);

        var opset = new ProtoWriter();
        opset.String(1, "");
        opset.Int64(2, Opset);

        var model = new ProtoWriter();
        model.Int64(1, 8);                                  // ir_version
        model.String(2, "NetGen");                          // producer_name
        model.String(3, typeof(OnnxModel).Assembly.GetName().Version?.ToString() ?? "0");
        model.Message(7, graph);
        model.Message(8, opset);
        return model.ToArray();
    }

    /// <summary>Writes the model atomically (temporary file, flush, rename).</summary>
    public void Save(string path)
    {
        byte[] bytes = ToBytes();
        using var file = AtomicFile.Create(path);
        file.Stream.Write(bytes);
        file.Commit();
    }

    private void Node(string op, string output, string[] inputs, params ProtoWriter[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(1, input);
        node.String(2, output);
        node.String(3, output);
        node.String(4, op);
        foreach (var attribute in attributes) node.Message(5, attribute);
        _nodes.Add(node);
    }

    private static ProtoWriter ValueInfo(string name, int[] dims)
    {
        var shape = new ProtoWriter();
        var batch = new ProtoWriter();
        batch.String(2, "batch");
        shape.Message(1, batch);
        foreach (int d in dims)
        {
            var dim = new ProtoWriter();
            dim.Int64(1, d);
            shape.Message(1, dim);
        }
        var tensorType = new ProtoWriter();
        tensorType.Int64(1, 1);                             // elem_type FLOAT
        tensorType.Message(2, shape);
        var type = new ProtoWriter();
        type.Message(1, tensorType);
        var info = new ProtoWriter();
        info.String(1, name);
        info.Message(2, type);
        return info;
    }

    private static ProtoWriter Int(string name, long value)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.Int64(3, value);
        a.Int64(20, 2);                                     // INT
        return a;
    }

    private static ProtoWriter Float(string name, float value)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.Float(2, value);
        a.Int64(20, 1);                                     // FLOAT
        return a;
    }

    private static ProtoWriter String(string name, string value)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.Bytes(4, System.Text.Encoding.UTF8.GetBytes(value));
        a.Int64(20, 3);                                     // STRING
        return a;
    }

    private static ProtoWriter Ints(string name, params long[] values)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        foreach (long v in values) a.Int64(8, v);
        a.Int64(20, 7);                                     // INTS
        return a;
    }

    private static byte[] LittleEndianBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
        else for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }
}
