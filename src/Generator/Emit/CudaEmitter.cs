using System;
using System.Collections.Generic;
using System.Linq;
using NetGen.Generator.Model;
using NetGen.Generator.Planning;
using static NetGen.Generator.Emit.CpuEmitter;

namespace NetGen.Generator.Emit;

/// <summary>
/// Emits a network's CUDA path: a nested <c>CudaPath</c> class that owns the device arenas (laid out exactly as the CPU
/// training arenas, so one set of offsets serves both), one cuDNN object per layer made at construction, the CUDA C of
/// the network's elementwise kernels, and QueueForward / QueueBackward methods that read like the CPU Forward and
/// Backward: one call per layer, in order. Forward, Backward and TrainStep capture those queues once per batch size
/// as CUDA graphs and replay them; the host copies only inputs, labels or targets, outputs and the scalar loss.
/// </summary>
internal static class CudaEmitter
{
    private const string Cuda = "global::NetGen.Cuda";

    /// <summary>Why this network cannot run on CUDA yet, or null when every op has a CUDA path.</summary>
    public static string? Unsupported(Plan plan)
    {
        foreach (var node in plan.Spec.Nodes)
            if (!HasCudaPath(node.Op)) return node.Name + " (" + node.Op + ", line " + node.Line + "): no CUDA kernel yet";
        return null;
    }

    /// <summary>Whether ForwardLines and BackwardLines handle the op (every op today; a new op starts on the CPU only).</summary>
    public static bool HasCudaPath(OpKind op) => op switch
    {
        OpKind.Input or OpKind.Conv2d or OpKind.ConvTranspose2d or OpKind.Dense or OpKind.Flatten or OpKind.Reshape or OpKind.Tanh or OpKind.Relu
            or OpKind.Sigmoid or OpKind.LeakyRelu or OpKind.Add or OpKind.BatchNorm or OpKind.Dropout
            or OpKind.AvgPool2d or OpKind.MaxPool2d or OpKind.AdaptiveAvgPool2d or OpKind.Concat
            or OpKind.Softmax or OpKind.Multiply or OpKind.Exp or OpKind.Scale or OpKind.LocalResponseNorm or OpKind.Upsample or OpKind.Step
            or OpKind.Recurrent => true,
        _ => false,
    };

    /// <summary>
    /// The kernels of a network's source, in a fixed order; without <paramref name="withRuntime"/>, only those the generated
    /// code launches itself (the ones it holds fields for), not those a runtime layer (CudaRecurrent) looks up.
    /// </summary>
    public static List<string> Kernels(Plan plan, bool withRuntime = true)
    {
        var used = new List<string>();
        foreach (var node in plan.Spec.Nodes)
        {
            switch (node.Op)
            {
                case OpKind.Tanh: used.AddRange(new[] { "netgen_tanh_forward", "netgen_tanh_backward" }); break;
                case OpKind.Relu: used.AddRange(new[] { "netgen_relu_forward", "netgen_relu_backward" }); break;
                case OpKind.Sigmoid: used.AddRange(new[] { "netgen_sigmoid_forward", "netgen_sigmoid_backward" }); break;
                case OpKind.LeakyRelu: used.AddRange(new[] { "netgen_leaky_relu_forward", "netgen_leaky_relu_backward" }); break;
                case OpKind.Add: used.AddRange(new[] { "netgen_add_forward", "netgen_copy_or_add" }); break;
                case OpKind.Flatten or OpKind.Reshape: used.Add("netgen_copy_or_add"); break;
                case OpKind.Dropout: used.AddRange(new[] { "netgen_dropout_forward", "netgen_copy_or_add", "netgen_multiply_backward" }); break;
                case OpKind.MaxPool2d: used.AddRange(new[] { "netgen_pool_helpers", "netgen_max_pool_forward", "netgen_max_pool_backward" }); break;
                case OpKind.AvgPool2d: used.AddRange(new[] { "netgen_avg_pool_forward", "netgen_avg_pool_backward" }); break;
                case OpKind.AdaptiveAvgPool2d: used.AddRange(new[] { "netgen_pool_helpers", "netgen_adaptive_avg_pool_forward", "netgen_adaptive_avg_pool_backward" }); break;
                case OpKind.Concat: used.AddRange(new[] { "netgen_concat_forward", "netgen_concat_backward" }); break;
                case OpKind.Softmax: used.AddRange(new[] { "netgen_softmax_forward", "netgen_softmax_backward" }); break;
                case OpKind.Multiply: used.AddRange(new[] { "netgen_multiply_forward", "netgen_multiply_backward" }); break;
                case OpKind.Exp: used.AddRange(new[] { "netgen_exp_forward", "netgen_multiply_backward" }); break;
                case OpKind.Scale: used.AddRange(new[] { "netgen_scale_forward", "netgen_scale_backward" }); break;
                case OpKind.LocalResponseNorm: used.AddRange(new[] { "netgen_lrn_forward", "netgen_lrn_backward" }); break;
                case OpKind.Step: used.AddRange(new[] { "netgen_concat_backward", "netgen_step_backward" }); break;
                case OpKind.Upsample: used.AddRange(new[] { "netgen_upsample_helpers", UpsampleKernel(node) + "_forward", UpsampleKernel(node) + "_backward" }); break;
                case OpKind.Dense: used.AddRange(node.Bias >= 0 ? new[] { "netgen_bias_forward", "netgen_bias_backward" } : Array.Empty<string>()); break;
                case OpKind.Recurrent:
                    if (withRuntime) used.AddRange(CudaRecurrentEmitter.RuntimeKernels(node));
                    used.AddRange(CudaRecurrentEmitter.GeneratedKernels(node));
                    break;
            }
        }
        used.AddRange(CudaKernels.Training);
        return used.Distinct().ToList();
    }

    public static string Emit(Plan plan)
    {
        var spec = plan.Spec;
        var names = new LocalNames(spec);
        var w = new CodeWriter();
        w.Line("// <auto-generated/>");
        w.Line("// NetGen generated the CUDA path of " + spec.ClassName + " from its [Network] declaration: cuDNN and cuBLAS for the layers,");
        w.Line("// NVRTC-compiled kernels (CudaKernelSource) for the elementwise work, CUDA graphs for whole passes. The CPU path in");
        w.Line("// " + spec.ClassName + ".g.cs is the oracle it is checked against (examples/GpuCheck).");
        w.Line("#nullable enable");
        w.Line("#pragma warning disable CS1591");
        w.Line();
        w.Line("using System; // MemoryExtensions.AsSpan; every type below is global::-qualified");
        w.Line();
        if (spec.Namespace is not null) w.Line("namespace " + spec.Namespace + ";").Line();
        foreach (var containing in spec.ContainingTypes) w.Open("partial " + containing);
        w.Open("partial class " + spec.ClassName + " : global::System.IDisposable");

        w.Line("/// <summary>The CUDA C of this network's elementwise kernels (compiled once per machine by NVRTC, cached by hash).</summary>");
        w.Line("internal const string CudaKernelSource = \"\"\"");
        foreach (var line in CudaKernels.Source(spec.ClassName, Kernels(plan)).TrimEnd('\n').Split('\n')) w.Line(line.Length == 0 ? "" : line);
        w.Line("\"\"\";");
        w.Line();
        w.Line("private CudaPath? _cuda; // set when the network runs on Backend.Cuda");
        w.Line();
        w.Line("/// <summary>The convolution algorithms cuDNN chose for <paramref name=\"batch\"/>, one line per layer; empty on the CPU.</summary>");
        w.Line("public string CudaAlgorithms(int batch) => _cuda?.Algorithms(batch) ?? \"\";");
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// Frees the GPU memory, cuDNN objects and CUDA graphs of this instance after copying its parameters and gradients");
        w.Line("/// back; it runs on the CPU from then on (<see cref=\"ActiveBackend\"/>). Nothing to free on the CPU.");
        w.Line("/// </summary>");
        w.Line("public void Dispose()");
        w.Line("{");
        w.Line("    _cuda?.Dispose();");
        w.Line("    _cuda = null;");
        w.Line("}");
        w.Line();

        EmitPath(w, plan, names);

        w.Close();
        foreach (var _ in spec.ContainingTypes) w.Close();
        return w.ToString();
    }

    private static void EmitPath(CodeWriter w, Plan plan, LocalNames names)
    {
        var spec = plan.Spec;
        var input = spec.Inputs[0];
        var output = spec.Nodes[spec.Output];
        var layers = spec.Nodes.Where(n => LayerType(n) is not null).ToList();
        var kernels = Kernels(plan, withRuntime: false).Where(k => !CudaKernels.Training.Contains(k) && !CudaKernels.IsHelper(k)).ToList();

        w.Line("/// <summary>");
        w.Line("/// " + spec.ClassName + " on device 0. Device arenas mirror the host ones (training layout for every pass); parameters and");
        w.Line("/// gradients move between host and device only when one side asks for what the other changed.");
        w.Line("/// </summary>");
        w.Open("private sealed class CudaPath");
        w.Line("private readonly " + spec.ClassName + " _net;");
        w.Line("private readonly int _capacity;");
        w.Line("private readonly " + Cuda + ".CudaContext _context;");
        w.Line("private readonly " + Cuda + ".DeviceBuffer _parameters;          // ParameterCount + BufferCount");
        w.Line("private readonly " + Cuda + ".DeviceBuffer _gradients;           // ParameterCount");
        w.Line("private readonly " + Cuda + ".DeviceBuffer _activations;         // [capacity x " + Int(plan.TrainSize) + "]");
        w.Line("private readonly " + Cuda + ".DeviceBuffer _activationGradients; // [capacity x " + Int(Math.Max(1, plan.GradSize)) + "]");
        w.Line("private readonly " + Cuda + ".DeviceBuffer _outputGradient;      // [capacity x " + Int(OutputGradientFloats(plan)) + "]: the gradients of the outputs nothing inside reads");
        w.Line("private readonly " + Cuda + ".DeviceBuffer _statistics;          // per BatchNorm: batch mean, then 1/std");
        w.Line("private readonly " + Cuda + ".CudaTrainer _trainer;");
        int dropouts = DropoutCount(plan);
        if (dropouts > 0)
        {
            w.Line("private readonly " + Cuda + ".DeviceBuffer _dropoutKeys;         // one 64-bit mask key per Dropout, drawn on the host per training pass");
            w.Line("private readonly ulong[] _hostDropoutKeys = new ulong[" + Int(dropouts) + "];");
        }
        foreach (var node in layers)
            w.Line("private readonly " + LayerType(node) + " " + Field(node) + "; // " + node.Name);
        CudaRecurrentEmitter.EmitFields(w, plan);
        foreach (var k in kernels)
            w.Line("private readonly " + Cuda + ".CudaKernel " + KernelField(k) + ";");
        w.Line("private readonly global::System.Collections.Generic.Dictionary<long, " + Cuda + ".CudaGraph> _graphs = new();");
        w.Line("private readonly global::System.Collections.Generic.HashSet<long> _warmed = new(); // passes run once eagerly, captured on their second run");
        w.Line("private readonly global::System.Collections.Generic.HashSet<int> _prepared = new();");
        if (!spec.HasSeveralOutputs) w.Line("private int _trainerVersion;"); // read by TrainStep, which several outputs do not have
        w.Line("private bool _deviceParametersStale = true; // the host changed the parameters: upload before the next pass");
        w.Line("private bool _hostParametersStale;          // the device changed them (a step, BatchNorm statistics): download before the host reads");
        w.Line("private bool _hostGradientsStale;           // the device changed the gradients");
        w.Line("private bool _deviceGradientsStale;         // the host may have written them: upload before the next Backward adds to them");
        w.Line();

        // Constructor
        w.Open("public CudaPath(" + spec.ClassName + " net, global::NetGen.NetworkOptions options)");
        w.Line("_net = net;");
        w.Line("_capacity = options.Capacity;");
        w.Line("_context = new " + Cuda + ".CudaContext(\"" + spec.ClassName + "\", CudaKernelSource, options.AllowTf32, options.CudaWorkspaceBytes);");
        w.Line("_parameters = " + Cuda + ".DeviceBuffer.Allocate(ParameterCount + BufferCount);");
        w.Line("_gradients = " + Cuda + ".DeviceBuffer.Allocate(ParameterCount);");
        w.Line("_activations = " + Cuda + ".DeviceBuffer.Allocate((long)_capacity * " + Int(Math.Max(1, plan.TrainSize)) + ");");
        w.Line("_activationGradients = " + Cuda + ".DeviceBuffer.Allocate((long)_capacity * " + Int(Math.Max(1, plan.GradSize)) + ");");
        w.Line("_outputGradient = " + Cuda + ".DeviceBuffer.Allocate((long)_capacity * " + Int(OutputGradientFloats(plan)) + ");");
        w.Line("_statistics = " + Cuda + ".DeviceBuffer.Allocate(" + Int(Math.Max(1, plan.StatsSize)) + ");");
        w.Line("_trainer = new " + Cuda + ".CudaTrainer(_context, ParameterCount, _capacity, OutputSize);");
        if (dropouts > 0) w.Line("_dropoutKeys = " + Cuda + ".DeviceBuffer.Allocate(" + Int(2 * dropouts) + ");");
        foreach (var node in layers)
            w.Line(Field(node) + " = " + LayerConstruction(plan, node) + ";");
        CudaRecurrentEmitter.EmitConstruction(w, plan);
        foreach (var k in kernels)
            w.Line(KernelField(k) + " = new(_context, \"" + k + "\");");
        w.Line("Prepare(_capacity); // descriptors and convolution algorithms for the full batch now; other batch sizes on first use");
        w.Close();
        w.Line();

        w.Line("private nint A(int offset) => _activations.At((long)_capacity * offset);         // activation arena, per-sample offset");
        w.Line("private nint D(int offset) => _activationGradients.At((long)_capacity * offset); // activation-gradient arena");
        w.Line("private nint P(int offset) => _parameters.At(offset);                            // parameters, then buffers");
        w.Line("private nint G(int offset) => _gradients.At(offset);                             // parameter gradients");
        w.Line("private nint S(int offset) => _statistics.At(offset);                            // BatchNorm batch statistics");
        w.Line();

        w.Line("/// <summary>Batch-sized descriptors and algorithm searches: before any capture, once per batch size.</summary>");
        w.Open("private void Prepare(int batch)");
        w.Line("if (!_prepared.Add(batch)) return;");
        foreach (var node in layers) w.Line(Field(node) + ".Prepare(batch);");
        w.Close();
        w.Line();

        // Forward queue
        w.Line("/// <summary>Queues the forward pass on the stream; the input is already at A(" + Int(plan.TrainOffset[input.Node]) + ").</summary>");
        w.Open("private void QueueForward(int batch, bool training)");
        foreach (var node in spec.Nodes)
        {
            if (node.Op == OpKind.Input) continue;
            w.Line("// " + Describe(plan, node));
            foreach (var line in ForwardLines(plan, node)) w.Line(line);
        }
        w.Close();
        w.Line();

        // Backward queue
        w.Line("/// <summary>Queues the backward pass; the output gradients are already at " + string.Join(", ", spec.Outputs.Select(o => Grad(plan, o.Node))) + ".</summary>");
        w.Open("private void QueueBackward(int batch, bool inputGradient, bool frozen)");
        var written = new HashSet<int>();
        foreach (var o in spec.Outputs)
            if (plan.GradOffset[o.Node] >= 0) written.Add(o.Node); // read inside too: its readers add to the caller's gradient
        foreach (var node in spec.Nodes.Reverse())
        {
            if (node.Op == OpKind.Input) continue;
            w.Line("// " + Describe(plan, node) + " (backward)");
            foreach (var line in BackwardLines(plan, node, written)) w.Line(line);
        }
        w.Close();
        w.Line();

        EmitEntryPoints(w, plan, names);
    }

    private static void EmitEntryPoints(CodeWriter w, Plan plan, LocalNames names)
    {
        var spec = plan.Spec;
        var output = spec.Nodes[spec.Output];
        int outputOffset = plan.TrainOffset[plan.StorageRoot[output.Id]];
        // one parameter and one copy per input, in declaration order
        string inputParameters = string.Join(", ", spec.Inputs.Select(i => "global::System.ReadOnlySpan<float> " + LocalNames.Sanitize(i.Name)));
        string copyInputs = string.Join("\n    ", spec.Inputs.Select(i =>
            "_context.CopyToDevice(A(" + Int(plan.TrainOffset[i.Node]) + "), " + LocalNames.Sanitize(i.Name) + ".Slice(0, batch * " + Int(i.Shape.Size) + "));"));
        w.Lines($$"""
            // Graph keys: what a captured pass depends on besides the device pointers, which never change.
            private static long Key(int kind, int batch, int flags) => ((long)kind << 40) | ((long)flags << 32) | (uint)batch;

            /// <summary>
            /// Runs the pass of <paramref name="key"/>: the first time eagerly (cuBLAS, cuDNN and the kernels initialise
            /// outside any capture), the second time captured as a CUDA graph and launched, from then on the graph replayed.
            /// </summary>
            private void Replay(long key, int batch, bool flag, bool frozen, global::NetGen.Loss? loss = null, global::NetGen.Optimizer? optimizer = null)
            {
                if (_graphs.TryGetValue(key, out var graph)) { _context.Launch(graph); return; }
                int kind = (int)(key >> 40);
                if (_warmed.Add(key)) { Queue(kind, batch, flag, frozen, loss, optimizer); return; }
                string what = kind switch { 1 => "{{spec.ClassName}} forward", 2 => "{{spec.ClassName}} backward", _ => "{{spec.ClassName}} training step" };
                _graphs.Add(key, graph = _context.Capture(() => Queue(kind, batch, flag, frozen, loss, optimizer), what));
                _context.Launch(graph);
            }

            /// <summary>Queues one whole pass: 1 forward, 2 backward, 3 training step (zero the gradients, forward, loss, backward, update).</summary>
            private void Queue(int kind, int batch, bool flag, bool frozen, global::NetGen.Loss? loss, global::NetGen.Optimizer? optimizer)
            {
                switch (kind)
                {
                    case 1: QueueForward(batch, training: flag); break;
                    case 2: QueueBackward(batch, inputGradient: flag, frozen); break;
                    default:
                        _context.Zero(G(0), ParameterCount);
                        QueueForward(batch, training: true);
                        _trainer.QueueLoss(loss!, labels: flag, A({{Int(outputOffset)}}), {{Grad(plan, output.Id)}}, batch);
                        QueueBackward(batch, inputGradient: false, frozen);
                        if (!frozen) _trainer.QueueUpdate(optimizer!, P(0), G(0));
                        break;
                }
            }

            {{(DropoutCount(plan) > 0 ? DrawKeysMethod : "")}}private void ToDevice()
            {
                if (!_deviceParametersStale) return;
                _context.CopyToDevice(_parameters.At(0), _net._parameters.AsSpan(0, ParameterCount + BufferCount));
                _deviceParametersStale = false;
            }

            /// <summary>Brings the host parameters up to date (Parameters, Save, ...).</summary>
            public void ParametersToHost()
            {
                if (!_hostParametersStale) return;
                _context.CopyToHost(_net._parameters.AsSpan(0, ParameterCount + BufferCount), _parameters.At(0));
                _hostParametersStale = false;
            }

            /// <summary>The host parameters were replaced (reset, load): they win over the device's.</summary>
            public void ParametersReplaced()
            {
                _hostParametersStale = false;
                _deviceParametersStale = true;
            }

            /// <summary>The host parameters were (or may have been) written: upload them before the next pass.</summary>
            public void ParametersChanged()
            {
                ParametersToHost();
                _deviceParametersStale = true;
            }

            /// <summary>Brings the host gradients up to date; the caller may then write them, so the next Backward uploads them first.</summary>
            public void GradientsToHost()
            {
                if (_hostGradientsStale) _context.CopyToHost(_net._gradients, _gradients.At(0));
                _hostGradientsStale = false;
                _deviceGradientsStale = true;
            }

            public void ZeroGradients()
            {
                _context.Zero(_gradients.At(0), ParameterCount);
                _hostGradientsStale = _deviceGradientsStale = false;
            }

            public global::System.ReadOnlySpan<float> Forward({{inputParameters}}, int batch, bool training)
            {
                ToDevice();
                Prepare(batch);
                {{copyInputs}}
                {{(DropoutCount(plan) > 0 ? "if (training) DrawDropoutKeys();\n    " : "")}}Replay(Key(1, batch, training ? 1 : 0), batch, training, frozen: false);
                {{CopyOutputs(plan)}}
                if (training) _hostParametersStale |= BufferCount > 0; // BatchNorm running statistics moved
                return output;
            }

            public global::System.ReadOnlySpan<float> Backward({{string.Join(", ", spec.Outputs.Select(o => "global::System.ReadOnlySpan<float> " + GradientParameter(spec, o)))}}, int batch, bool inputGradient)
            {
                ToDevice();
                {{string.Join("\n    ", spec.Outputs.Select(o => "_context.CopyToDevice(" + Grad(plan, o.Node) + ", " + GradientParameter(spec, o) + ".Slice(0, batch * " + Int(spec.Nodes[o.Node].Shape.Size) + "));"))}}
                if (_deviceGradientsStale) { _context.CopyToDevice(_gradients.At(0), _net._gradients); _deviceGradientsStale = false; }
                bool frozen = _net.Frozen;
                Replay(Key(2, batch, (inputGradient ? 1 : 0) | (frozen ? 2 : 0)), batch, inputGradient, frozen);
                _hostGradientsStale |= !frozen; // a frozen pass leaves the gradients as they were
            """);
        var withGradient = spec.Inputs.Where(i => plan.GradOffset[i.Node] >= 0).ToList();
        if (withGradient.Count > 0)
        {
            // every input's gradient to the host (the CPU class's <Input>Gradient properties read them there); the first input's is returned
            w.Line("    if (!inputGradient) { _context.Synchronize(); return default; }");
            foreach (var i in withGradient.Skip(withGradient[0] == spec.Inputs[0] ? 1 : 0))
                w.Line("    _context.CopyToHost(_net._activationGradients.AsSpan(_capacity * " + Int(plan.GradOffset[i.Node]) + ", batch * " + Int(i.Shape.Size) + "), D(" +
                       Int(plan.GradOffset[i.Node]) + ")); // " + i.Name);
            int first = plan.GradOffset[spec.Inputs[0].Node];
            if (first >= 0)
                w.Lines($$"""
                        var result = _net._activationGradients.AsSpan(_capacity * {{Int(first)}}, batch * {{Int(spec.Inputs[0].Shape.Size)}});
                        _context.CopyToHost(result, D({{Int(first)}}));
                        return result;
                    }
                    """);
            else
                w.Lines("""
                        return default;
                    }
                    """);
        }
        else
            w.Lines("""
                    _context.Synchronize();
                    return default;
                }
                """);
        // one loss per output is the caller's with several outputs (Forward, Backward, optimizer.Step), as on the CPU
        foreach (var (type, name, labels) in spec.HasSeveralOutputs ? Array.Empty<(string, string, bool)>()
                     : new[] { ("global::System.ReadOnlySpan<int>", "labels", true), ("global::System.ReadOnlySpan<float>", "targets", false) })
        {
            w.Line();
            w.Lines($$"""
                /// <summary>The whole step as one graph: zero the gradients, forward, loss, backward, update; copies in the batch, out the loss.</summary>
                public float TrainStep({{inputParameters}}, {{type}} {{name}}, int batch, global::NetGen.Loss loss, global::NetGen.Optimizer optimizer)
                {
                    global::NetGen.Cuda.CudaTrainer.CheckSupported(loss, labels: {{(labels ? "true" : "false")}}, optimizer, "{{spec.ClassName}}");
                    ToDevice();
                    Prepare(batch);
                    {{copyInputs}}
                    _trainer.Begin({{name}}, batch{{(labels ? ", OutputSize" : "")}});
                    bool frozen = _net.Frozen;
                    if (!frozen) _trainer.BeginUpdate(optimizer);
                    if (_trainer.Version != _trainerVersion) { ForgetGraphs(); _trainerVersion = _trainer.Version; } // new optimizer state buffers
                    int flags = (frozen ? 1 : 0) | global::NetGen.Cuda.CudaTrainer.Kind(loss, labels: {{(labels ? "true" : "false")}}, optimizer) << 1;
                    {{(DropoutCount(plan) > 0 ? "DrawDropoutKeys();\n    " : "")}}Replay(Key(3, batch, flags), batch, {{(labels ? "true" : "false")}}, frozen, loss, optimizer);
                    _hostParametersStale = true;
                    _hostGradientsStale = true;
                    _deviceGradientsStale = false; // the step zeroed them on the device first
                    return _trainer.ReadLoss();
                }
                """);
        }
        w.Lines($$"""

            private void ForgetGraphs()
            {
                foreach (var graph in _graphs.Values) graph.Dispose();
                _graphs.Clear();
            }

            /// <summary>Parameters and gradients to the host, then every device resource freed (graphs first: they use the rest).</summary>
            public void Dispose()
            {
                ParametersToHost();
                if (_hostGradientsStale) _context.CopyToHost(_net._gradients, _gradients.At(0));
                _hostGradientsStale = false;
                ForgetGraphs();{{string.Concat(plan.Spec.Nodes.Where(n => LayerType(n) is not null).Select(n => "\n    " + Field(n) + ".Dispose();"))}}{{string.Concat(CudaRecurrentEmitter.DisposeLines(plan).Select(line => "\n    " + line))}}
                _trainer.Dispose();{{(DropoutCount(plan) > 0 ? "\n    _dropoutKeys.Dispose();" : "")}}
                _statistics.Dispose();
                _outputGradient.Dispose();
                _activationGradients.Dispose();
                _activations.Dispose();
                _gradients.Dispose();
                _parameters.Dispose();
                _context.Dispose();
            }

            /// <summary>The convolution algorithms cuDNN chose for a batch size, per layer (for logs and the GPU self-check).</summary>
            public string Algorithms(int batch)
            {
                Prepare(batch);
                var text = new global::System.Text.StringBuilder();
            """);
        foreach (var node in plan.Spec.Nodes.Where(n => n.Op is OpKind.Conv2d or OpKind.ConvTranspose2d))
            w.Line("    text.Append(\"" + node.Name + ": \").Append(" + Field(node) + ".Algorithms(batch)).Append('\\n');");
        w.Lines("""
                return text.ToString();
            }
            """);
        w.Close();
    }

    private const string DrawKeysMethod = """
        /// <summary>Draws this pass's Dropout keys from the network's generator, in the order the CPU path draws them.</summary>
        private void DrawDropoutKeys()
        {
            for (int k = 0; k < _hostDropoutKeys.Length; k++) _hostDropoutKeys[k] = global::NetGen.Cpu.Dropout.NextKey(ref _net._dropoutRng);
            _context.CopyToDevice(_dropoutKeys.At(0), global::System.Runtime.InteropServices.MemoryMarshal.Cast<ulong, float>(_hostDropoutKeys));
        }


        """;

    /// <summary>The parameter name of an output's gradient, as the CPU class's Backward names it.</summary>
    private static string GradientParameter(NetworkSpec spec, OutputSpec output) =>
        spec.HasSeveralOutputs ? LocalNames.OutputGradientParameter(output.Name) : "outputGradient";

    /// <summary>Floats per sample of _outputGradient: the outputs whose gradient has no slot in the gradient arena, one after another.</summary>
    private static int OutputGradientFloats(Plan plan) =>
        Math.Max(1, plan.Spec.Outputs.Where(o => plan.GradOffset[o.Node] < 0).Sum(o => plan.Spec.Nodes[o.Node].Shape.Size));

    /// <summary>
    /// Forward's copies out: the first output is returned; with several outputs each is copied where the CPU class's
    /// &lt;Output&gt;Output property reads it (training or inference layout).
    /// </summary>
    private static string CopyOutputs(Plan plan)
    {
        var spec = plan.Spec;
        var lines = new List<string>();
        for (int i = 0; i < spec.Outputs.Count; i++)
        {
            var node = spec.Nodes[spec.Outputs[i].Node];
            string device = "A(" + Int(plan.TrainOffset[plan.StorageRoot[node.Id]]) + ")";
            string host = spec.HasSeveralOutputs && plan.TrainOffset[node.Id] != plan.InferOffset[node.Id]
                ? "_capacity * (training ? " + Int(plan.TrainOffset[node.Id]) + " : " + Int(plan.InferOffset[node.Id]) + ")"
                : "_capacity * " + Int(spec.HasSeveralOutputs ? plan.TrainOffset[node.Id] : plan.TrainOffset[plan.StorageRoot[node.Id]]);
            string span = "_net._activations.AsSpan(" + host + ", batch * " + Int(node.Shape.Size) + ")";
            lines.Add(i == 0
                ? "var output = " + span + ";\n    _context.CopyToHost(output, " + device + ");" + (spec.HasSeveralOutputs ? " // " + spec.Outputs[i].Name : "")
                : "_context.CopyToHost(" + span + ", " + device + "); // " + spec.Outputs[i].Name);
        }
        return string.Join("\n    ", lines);
    }

    // ------------------------------------------------------------------ per layer

    private static string? LayerType(NodeSpec node) => node.Op switch
    {
        OpKind.Conv2d or OpKind.ConvTranspose2d => Cuda + ".CudaConv2d",
        OpKind.BatchNorm => Cuda + ".CudaBatchNorm",
        _ => null,
    };

    private static string Field(NodeSpec node) => "_" + LocalName(node.Name);

    private static string KernelField(string kernel) =>
        "_" + string.Concat(kernel.Substring("netgen_".Length).Split('_').Select((part, i) => i == 0 ? part : Pascal(part)));

    private static string LayerConstruction(Plan plan, NodeSpec node)
    {
        var input = plan.Node(node.Inputs[0]).Shape;
        return node.Op switch
        {
            OpKind.Conv2d => "new(_context, new global::NetGen.Cpu.Conv2dGeometry(" + Ints(input.C, input.H, input.W, node.Shape.C, node.Kernel, node.Stride, node.Padding) + "))",
            OpKind.ConvTranspose2d => Cuda + ".CudaConv2d.Transposed(_context, new global::NetGen.Cpu.ConvTranspose2dGeometry(" +
                Ints(input.C, input.H, input.W, node.Shape.C, node.Kernel, node.Stride, node.Padding, node.Extra) + "))",
            OpKind.BatchNorm => "new(_context, " + Ints(node.Shape.Dims[0], node.Shape.Rank == 3 ? node.Shape.H * node.Shape.W : 1) +
                ", momentum: " + Real(node.Real(0)) + ", epsilon: " + Real(node.Real(1)) + ")",
            _ => throw new InvalidOperationException(node.Op.ToString()),
        };
    }

    private static string Act(Plan plan, int node) => "A(" + Int(plan.TrainOffset[plan.StorageRoot[node]]) + ")";

    /// <summary>Where a node's gradient lives: its slot in the gradient arena, or (an output nothing inside reads) its place in _outputGradient.</summary>
    private static string Grad(Plan plan, int node)
    {
        if (plan.GradOffset[node] >= 0) return "D(" + Int(plan.GradOffset[node]) + ")";
        int offset = 0;
        foreach (var o in plan.Spec.Outputs.Where(o => plan.GradOffset[o.Node] < 0))
        {
            if (o.Node == node) break;
            offset += plan.Spec.Nodes[o.Node].Shape.Size;
        }
        return offset == 0 ? "_outputGradient.At(0)" : "_outputGradient.At((long)_capacity * " + Int(offset) + ")";
    }

    private static string Param(Plan plan, int index) => "P(" + Int(plan.ParamOffset[index]) + ") /* " + plan.Param(index).Name + " */";

    private static string ParamGrad(Plan plan, int index) => "G(" + Int(plan.ParamOffset[index]) + ")";

    private static string Count(NodeSpec node) => "batch * " + Int(node.Shape.Size);

    /// <summary>batch, channels, spatial, size, alpha, beta, k: the LRN kernels' arguments.</summary>
    private static string Lrn(NodeSpec node) =>
        "batch, " + Ints(node.Shape.C, node.Shape.Rank == 3 ? node.Shape.H * node.Shape.W : 1, node.Kernel) + ", " +
        Real(node.Real(0)) + ", " + Real(node.Real(1)) + ", " + Real(node.Real(2));

    /// <summary>Upsample's mode is kept in CeilMode (true: bilinear), as the CPU emitter reads it.</summary>
    private static string UpsampleKernel(NodeSpec node) => node.CeilMode ? "netgen_upsample_bilinear" : "netgen_upsample_nearest";

    private static string UpsampleGeometry(Plan plan, NodeSpec node)
    {
        var input = plan.Node(node.Inputs[0]).Shape;
        return "batch * " + Int(input.C) + ", " + Ints(input.H, input.W, node.Shape.H, node.Shape.W);
    }

    private static string PoolKernel(NodeSpec node) => node.Op switch
    {
        OpKind.MaxPool2d => "netgen_max_pool",
        OpKind.AvgPool2d => "netgen_avg_pool",
        _ => "netgen_adaptive_avg_pool",
    };

    /// <summary>planes, inH, inW, outH, outW, then kernel, stride (and padding for max pooling): the pooling kernels' geometry arguments.</summary>
    private static string PoolGeometry(Plan plan, NodeSpec node)
    {
        var input = plan.Node(node.Inputs[0]).Shape;
        string sizes = "batch * " + Int(input.C) + ", " + Ints(input.H, input.W, node.Shape.H, node.Shape.W);
        return node.Op switch
        {
            OpKind.MaxPool2d => sizes + ", " + Ints(node.Kernel, node.Stride, node.Padding),
            OpKind.AvgPool2d => sizes + ", " + Ints(node.Kernel, node.Stride),
            _ => sizes,
        };
    }

    private static string Mask(Plan plan, NodeSpec node) => "A(" + Int(plan.MaskOffset[node.Id]) + ")";

    /// <summary>The Dropout's place among the network's Dropouts, in forward order: the order the CPU draws their keys in.</summary>
    private static int DropoutIndex(Plan plan, NodeSpec node) => plan.Spec.Nodes.Count(n => n.Op == OpKind.Dropout && n.Id < node.Id);

    private static int DropoutCount(Plan plan) => plan.Spec.Nodes.Count(n => n.Op == OpKind.Dropout);

    private static IEnumerable<string> ForwardLines(Plan plan, NodeSpec node)
    {
        string y = Act(plan, node.Id);
        string x = node.Inputs.Count > 0 ? Act(plan, node.Inputs[0]) : "";
        string n = Count(node);
        switch (node.Op)
        {
            case OpKind.Conv2d or OpKind.ConvTranspose2d:
                yield return Field(node) + ".Forward(batch, " + y + ", " + x + ", " + Param(plan, node.Weight) + ", " + (node.Bias >= 0 ? Param(plan, node.Bias) : "0") + ");";
                break;
            case OpKind.Dense:
            {
                var inShape = plan.Node(node.Inputs[0]).Shape;
                string rows = Rows(inShape);
                yield return Cuda + ".CudaDense.Forward(_context, " + y + ", " + x + ", " + Param(plan, node.Weight) + ", " + rows + ", " + Int(RowFeatures(inShape)) + ", " + Int(RowFeatures(node.Shape)) + ");";
                if (node.Bias >= 0)
                    yield return "_biasForward.Run(" + rows + " * " + Int(RowFeatures(node.Shape)) + ", " + y + ", " + Param(plan, node.Bias) + ", " + rows + ", " + Int(RowFeatures(node.Shape)) + ");";
                break;
            }
            case OpKind.AvgPool2d or OpKind.MaxPool2d or OpKind.AdaptiveAvgPool2d:
                yield return KernelField(PoolKernel(node) + "_forward") + ".Run(" + n + ", " + y + ", " + x + ", " + PoolGeometry(plan, node) + ");";
                break;
            case OpKind.Concat:
                for (int k = 0; k < node.Inputs.Count; k++)
                {
                    var operand = plan.Node(node.Inputs[k]).Shape;
                    yield return "_concatForward.Run(batch * " + Int(operand.Size) + ", " + y + ", " + Act(plan, node.Inputs[k]) + ", batch, " +
                        Ints(operand.Size, node.Shape.Size, ConcatOffset(plan, node, k)) + ");";
                }
                break;
            case OpKind.BatchNorm:
            {
                string gamma = Param(plan, node.Weight), beta = Param(plan, node.Bias), mean = Param(plan, node.Buffer), variance = Param(plan, node.Buffer + 1);
                yield return "if (training) " + Field(node) + ".ForwardTraining(batch, " + y + ", " + x + ", " + gamma + ", " + beta + ", " + mean + ", " + variance + ", S(" + Int(plan.StatsOffset[node.Id]) + "));";
                yield return "else " + Field(node) + ".ForwardInference(batch, " + y + ", " + x + ", " + gamma + ", " + beta + ", " + mean + ", " + variance + ");";
                break;
            }
            case OpKind.Flatten or OpKind.Reshape:
                yield return "// a reshape: same memory as its input";
                break;
            case OpKind.Tanh or OpKind.Relu or OpKind.Sigmoid:
                yield return "_" + node.Op.ToString().ToLowerInvariant() + "Forward.Run(" + n + ", " + y + ", " + x + ", " + n + ");";
                break;
            case OpKind.LeakyRelu:
                yield return "_leakyReluForward.Run(" + n + ", " + y + ", " + x + ", " + n + ", " + Real(node.Real(0)) + ");";
                break;
            case OpKind.Add:
                yield return "_addForward.Run(" + n + ", " + y + ", " + x + ", " + Act(plan, node.Inputs[1]) + ", " + n + ");";
                break;
            case OpKind.Softmax:
                yield return "_softmaxForward.Run(" + Rows(node.Shape) + ", " + y + ", " + x + ", " + Rows(node.Shape) + ", " + Int(RowFeatures(node.Shape)) + ");";
                break;
            case OpKind.Multiply:
                yield return "_multiplyForward.Run(" + n + ", " + y + ", " + x + ", " + Act(plan, node.Inputs[1]) + ", " + n + ");";
                break;
            case OpKind.Exp:
                yield return "_expForward.Run(" + n + ", " + y + ", " + x + ", " + n + ");";
                break;
            case OpKind.Scale:
                yield return "_scaleForward.Run(" + n + ", " + y + ", " + x + ", " + n + ", " + Real(node.Real(0)) + ");";
                break;
            case OpKind.Step:
            {
                // y[b, :] = x[b, step, :]: the slice copy Concat's backward does
                var sequence = plan.Node(node.Inputs[0]).Shape;
                yield return "_concatBackward.Run(" + n + ", " + y + ", " + x + ", batch, " + Ints(sequence.Dims[1], sequence.Size, node.Kernel * sequence.Dims[1]) + ", 0);";
                break;
            }
            case OpKind.Recurrent:
                foreach (var line in CudaRecurrentEmitter.ForwardLines(plan, node, y, x, node.Inputs.Count > 1 ? Act(plan, node.Inputs[1]) : null,
                             node.Inputs.Count > 2 ? Act(plan, node.Inputs[2]) : null))
                    yield return line;
                break;
            case OpKind.Upsample:
                yield return KernelField(UpsampleKernel(node) + "_forward") + ".Run(" + n + ", " + y + ", " + x + ", " + UpsampleGeometry(plan, node) + ");";
                break;
            case OpKind.LocalResponseNorm:
                yield return "_lrnForward.Run(" + n + ", " + y + ", " + x + ", " + Lrn(node) + ");";
                break;
            case OpKind.Dropout:
                // Training: a fresh mask from this call's key (drawn on the host, as the CPU draws it). Inference: the identity.
                yield return "if (training) _dropoutForward.Run(" + n + ", " + y + ", " + Mask(plan, node) + ", " + x + ", _dropoutKeys.At(0), " +
                    Int(DropoutIndex(plan, node)) + ", " + n + ", " + Real(node.Real(0)) + ");";
                yield return "else _copyOrAdd.Run(" + n + ", " + y + ", " + x + ", " + n + ", 0);";
                break;
            default:
                throw new InvalidOperationException("no CUDA forward for " + node.Op);
        }
    }

    private static IEnumerable<string> BackwardLines(Plan plan, NodeSpec node, HashSet<int> written)
    {
        string dy = Grad(plan, node.Id);
        if (node.Op == OpKind.Recurrent)
        {
            // one call per layer and direction computes the parameter and the operands' gradients
            var operands = node.Inputs.Select(i => (Grad(plan, i), !written.Add(i), !plan.NeedsParamGrad[i])).ToList();
            foreach (var line in CudaRecurrentEmitter.BackwardLines(plan, node, Act(plan, node.Id), dy, Act(plan, node.Inputs[0]),
                         node.Inputs.Count > 1 ? Act(plan, node.Inputs[1]) : null, node.Inputs.Count > 2 ? Act(plan, node.Inputs[2]) : null, operands))
                yield return line;
            yield break;
        }
        // Parameter gradients first: they need only dY and the inputs.
        switch (node.Op)
        {
            case OpKind.Conv2d or OpKind.ConvTranspose2d:
                yield return "if (!frozen) " + Field(node) + ".BackwardWeights(batch, " + ParamGrad(plan, node.Weight) + ", " + (node.Bias >= 0 ? ParamGrad(plan, node.Bias) : "0") + ", " + dy + ", " + Act(plan, node.Inputs[0]) + ");";
                break;
            case OpKind.Dense:
            {
                var inShape = plan.Node(node.Inputs[0]).Shape;
                string rows = Rows(inShape), inF = Int(RowFeatures(inShape)), outF = Int(RowFeatures(node.Shape));
                yield return "if (!frozen) " + Cuda + ".CudaDense.BackwardWeights(_context, " + ParamGrad(plan, node.Weight) + ", " + dy + ", " + Act(plan, node.Inputs[0]) + ", " + rows + ", " + inF + ", " + outF + ");";
                if (node.Bias >= 0)
                    yield return "if (!frozen) _biasBackward.Run(" + outF + ", " + ParamGrad(plan, node.Bias) + ", " + dy + ", " + rows + ", " + outF + ");";
                break;
            }
        }
        for (int k = 0; k < node.Inputs.Count; k++)
        {
            int input = node.Inputs[k];
            bool accumulate = !written.Add(input);
            string acc = accumulate ? "true" : "false", accInt = accumulate ? "1" : "0";
            string dx = Grad(plan, input), x = Act(plan, input), y = Act(plan, node.Id), n = Count(node);
            string call = node.Op switch
            {
                OpKind.Conv2d or OpKind.ConvTranspose2d => Field(node) + ".BackwardData(batch, " + dx + ", " + dy + ", " + Param(plan, node.Weight) + ", accumulate: " + acc + ")",
                OpKind.Dense => Cuda + ".CudaDense.BackwardData(_context, " + dx + ", " + dy + ", " + Param(plan, node.Weight) + ", " + Rows(plan.Node(input).Shape) + ", " +
                                Int(RowFeatures(plan.Node(input).Shape)) + ", " + Int(RowFeatures(node.Shape)) + ", accumulate: " + acc + ")",
                OpKind.MaxPool2d => "_maxPoolBackward.Run(batch * " + Int(plan.Node(input).Shape.Size) + ", " + dx + ", " + dy + ", " + x + ", " + PoolGeometry(plan, node) + ", " + accInt + ")",
                OpKind.AvgPool2d or OpKind.AdaptiveAvgPool2d => KernelField(PoolKernel(node) + "_backward") + ".Run(batch * " + Int(plan.Node(input).Shape.Size) + ", " + dx + ", " + dy + ", " + PoolGeometry(plan, node) + ", " + accInt + ")",
                OpKind.Concat => "_concatBackward.Run(batch * " + Int(plan.Node(input).Shape.Size) + ", " + dx + ", " + dy + ", batch, " +
                                 Ints(plan.Node(input).Shape.Size, node.Shape.Size, ConcatOffset(plan, node, k)) + ", " + accInt + ")",
                OpKind.BatchNorm => Field(node) + ".Backward(batch, " + dx + ", " + dy + ", " + x + ", " + Param(plan, node.Weight) + ", " + ParamGrad(plan, node.Weight) + ", " +
                                    ParamGrad(plan, node.Bias) + ", S(" + Int(plan.StatsOffset[node.Id]) + "), accumulate: " + acc + ", frozen)",
                OpKind.Tanh or OpKind.Relu or OpKind.Sigmoid => "_" + node.Op.ToString().ToLowerInvariant() + "Backward.Run(" + n + ", " + dx + ", " + dy + ", " + y + ", " + n + ", " + accInt + ")",
                OpKind.LeakyRelu => "_leakyReluBackward.Run(" + n + ", " + dx + ", " + dy + ", " + x + ", " + n + ", " + Real(node.Real(0)) + ", " + accInt + ")",
                OpKind.Flatten or OpKind.Reshape or OpKind.Add => "_copyOrAdd.Run(" + n + ", " + dx + ", " + dy + ", " + n + ", " + accInt + ")",
                OpKind.Softmax => "_softmaxBackward.Run(" + Rows(node.Shape) + ", " + dx + ", " + dy + ", " + y + ", " + Rows(node.Shape) + ", " + Int(RowFeatures(node.Shape)) + ", " + accInt + ")",
                OpKind.Multiply => "_multiplyBackward.Run(" + n + ", " + dx + ", " + dy + ", " + Act(plan, node.Inputs[1 - k]) + " /* the other factor */, " + n + ", " + accInt + ")",
                OpKind.Exp => "_multiplyBackward.Run(" + n + ", " + dx + ", " + dy + ", " + y + " /* exp(x) */, " + n + ", " + accInt + ")",
                OpKind.Scale => "_scaleBackward.Run(" + n + ", " + dx + ", " + dy + ", " + n + ", " + Real(node.Real(0)) + ", " + accInt + ")",
                OpKind.Step => "_stepBackward.Run(batch * " + Int(plan.Node(input).Shape.Size) + ", " + dx + ", " + dy + ", batch, " +
                               Ints(plan.Node(input).Shape.Dims[0], plan.Node(input).Shape.Dims[1], node.Kernel) + ", " + accInt + ")",
                OpKind.Upsample => KernelField(UpsampleKernel(node) + "_backward") + ".Run(batch * " + Int(plan.Node(input).Shape.Size) + ", " + dx + ", " + dy + ", " + UpsampleGeometry(plan, node) + ", " + accInt + ")",
                OpKind.LocalResponseNorm => "_lrnBackward.Run(" + n + ", " + dx + ", " + dy + ", " + x + ", " + Lrn(node) + ", " + accInt + ")",
                OpKind.Dropout => "_multiplyBackward.Run(" + n + ", " + dx + ", " + dy + ", " + Mask(plan, node) + " /* mask */, " + n + ", " + accInt + ")",
                _ => throw new InvalidOperationException("no CUDA backward for " + node.Op),
            };
            yield return plan.NeedsParamGrad[input] ? call + ";" : "if (inputGradient) " + call + ";";
        }
    }
}
