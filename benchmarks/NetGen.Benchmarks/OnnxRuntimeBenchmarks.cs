using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using NetGen.Examples.LeNet5;
using NetGen.Examples.Zoo;

namespace NetGen.Benchmarks;

/// <summary>
/// NetGen's CPU inference against ONNX Runtime 1.31.1 running the model NetGen exported (ExportOnnx, same
/// weights), batch 1, in the same run. ORT uses its default CPU provider with all graph optimizations and as
/// many intra-op threads as NetGen (all cores); inputs and outputs are pre-bound OrtValues, so neither side
/// allocates per call.
/// </summary>
[MemoryDiagnoser]
public class OnnxRuntimeBenchmarks
{
    private LeNet5 _lenet = null!;
    private ResNet18 _resnet = null!;
    private float[] _digit = null!, _image = null!, _digitOut = null!, _imageOut = null!;
    private InferenceSession _lenetSession = null!, _resnetSession = null!;
    private OrtIoBinding _lenetBinding = null!, _resnetBinding = null!;
    private OrtValue[] _values = Array.Empty<OrtValue>();
    private readonly RunOptions _run = new();
    private string _directory = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "netgen-ort-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _lenet = new LeNet5(new NetworkOptions { Capacity = 1, Seed = 1 });
        _resnet = new ResNet18(new NetworkOptions { Capacity = 1, Seed = 1 });
        var rng = new Rng(3);
        _digit = new float[LeNet5.InputSize];
        _image = new float[ResNet18.InputSize];
        for (int i = 0; i < _digit.Length; i++) _digit[i] = rng.NextUniform(-0.5f, 2.5f);
        for (int i = 0; i < _image.Length; i++) _image[i] = rng.NextUniform(-2f, 2f);
        _digitOut = new float[LeNet5.OutputSize];
        _imageOut = new float[ResNet18.OutputSize];

        (_lenetSession, _lenetBinding) = Session(_lenet, "lenet5.onnx", "image", new long[] { 1, 1, 28, 28 }, _digit, "Output", _digitOut);
        (_resnetSession, _resnetBinding) = Session(_resnet, "resnet18.onnx", "image", new long[] { 1, 3, 224, 224 }, _image, "fc", _imageOut);
        _lenet.Forward(_digit, 1);
        _resnet.Forward(_image, 1);
    }

    private (InferenceSession, OrtIoBinding) Session(INetwork net, string file, string input, long[] inputShape, float[] inputData, string output, float[] outputData)
    {
        string path = Path.Combine(_directory, file);
        net.ExportOnnx(path);
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = Environment.ProcessorCount };
        var session = new InferenceSession(path, options);
        var binding = session.CreateIoBinding();
        var inputValue = OrtValue.CreateTensorValueFromMemory(inputData, inputShape);
        var outputValue = OrtValue.CreateTensorValueFromMemory(outputData, new long[] { 1, outputData.Length });
        binding.BindInput(input, inputValue);
        binding.BindOutput(output, outputValue);
        _values = [.. _values, inputValue, outputValue];
        session.RunWithBinding(_run, binding); // warm-up
        return (session, binding);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _lenetBinding.Dispose(); _resnetBinding.Dispose();
        _lenetSession.Dispose(); _resnetSession.Dispose();
        foreach (var v in _values) v.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "LeNet-5 b1: NetGen")]
    public float LeNetNetGen() => _lenet.Forward(_digit, 1)[0];

    [Benchmark(Description = "LeNet-5 b1: ONNX Runtime")]
    public float LeNetOrt()
    {
        _lenetSession.RunWithBinding(_run, _lenetBinding);
        return _digitOut[0];
    }

    [Benchmark(Description = "ResNet-18 b1: NetGen")]
    public float ResNetNetGen() => _resnet.Forward(_image, 1)[0];

    [Benchmark(Description = "ResNet-18 b1: ONNX Runtime")]
    public float ResNetOrt()
    {
        _resnetSession.RunWithBinding(_run, _resnetBinding);
        return _imageOut[0];
    }
}
