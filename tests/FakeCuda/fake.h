// NetGen's fake CUDA device: the CUDA driver, runtime, cuBLAS, cuDNN and NVRTC entry points NetGen binds, implemented
// on the CPU so the generated CUDA path runs end to end in CI (tests/NetGen.Integration.Tests/FakeCudaTests.cs).
// "Device memory" is host memory; a stream runs its work at once, in order, unless it is being captured into a graph,
// in which case the work is recorded and runs when the graph is launched. Nothing here is fast; it is meant to be
// obviously right, so that a mismatch against the CPU path points at the host code that drives the GPU.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>

// Runs `work` on `stream` now, or records it when the stream is capturing. Every entry point that takes a stream (or a
// handle bound to one) goes through here, copying its arguments by value into the closure.
void netgen_fake_enqueue(void* stream, std::function<void()> work);

// TF32, as tensor cores read fp32 operands when TF32 is allowed: the mantissa rounded to its top 10 bits (to nearest).
// cuBLAS under CUBLAS_TF32_TENSOR_OP_MATH and cuDNN convolutions under any math type but CUDNN_FMA_MATH round their
// products' inputs with it, so GpuCheck's TF32 rows differ from fp32 as on a GPU, in kind if not in every bit.
inline float netgen_fake_tf32(float value)
{
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0x1000u) & 0xffffe000u;  // finite: round, keep 10 bits
    std::memcpy(&value, &bits, sizeof bits);
    return value;
}
