using System;
using System.Diagnostics;
using NetGen;
using NetGen.Cpu;
using NetGen.Cuda;
using NetGen.Cuda.Native;

// netgen-gpucheck: what NetGen finds of CUDA on this machine, then cuBLAS SGEMM against NetGen's CPU GEMM (the
// oracle) on layer-sized products. Exit codes: 0 all checks passed, 1 a check failed, 3 no CUDA device (the output
// says "skipped: no CUDA device" and why). Later CUDA work adds its ops here, each against the CPU path.

Console.WriteLine("NetGen GPU self-check");
foreach (CudaLibrary library in Enum.GetValues<CudaLibrary>())
    Console.WriteLine($"  {library,-8} {(CudaLibraries.TryLoad(library, out string? path) ? path : "not found")}");
CudaProbe probe = CudaDevice.Probe();
Console.WriteLine("device: " + probe);
if (!probe.Available) return 3;

int failures = 0;
var rng = new Rng(1);
foreach (var (m, n, k, what) in new[]
{
    (6, 784, 25, "LeNet C1"), (64, 3136, 576, "ResNet conv2_x"), (512, 49, 4608, "ResNet conv5_x"), (1024, 1024, 1024, "square 1024"),
})
{
    var a = new float[m * k];
    var b = new float[k * n];
    for (int i = 0; i < a.Length; i++) a[i] = rng.NextUniform(-1f, 1f);
    for (int i = 0; i < b.Length; i++) b[i] = rng.NextUniform(-1f, 1f);
    var cpu = new float[m * n];
    var gpu = new float[m * n];
    Gemm.Multiply(false, false, m, n, k, a, b, cpu, accumulate: false);
    var clock = Stopwatch.StartNew();
    CudaDevice.Sgemm(m, n, k, a, b, gpu);
    double ms = clock.Elapsed.TotalMilliseconds;
    double worst = 0;
    for (int i = 0; i < cpu.Length; i++)
        worst = Math.Max(worst, Math.Abs(cpu[i] - gpu[i]) / (1e-5 + 2e-7 * k + 1e-5 * Math.Abs(cpu[i])));
    bool ok = worst <= 1;
    if (!ok) failures++;
    Console.WriteLine($"  cuBLAS SGEMM {what,-15} {m}x{n}x{k}: {(ok ? "ok" : "FAILED")}  worst error {worst:F3} of the tolerance  ({ms:F1} ms with copies)");
}
Console.WriteLine(failures == 0 ? "all checks passed" : $"{failures} check(s) FAILED");
return failures == 0 ? 0 : 1;
