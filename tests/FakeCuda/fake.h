// NetGen's fake CUDA device: the CUDA driver, runtime, cuBLAS, cuDNN and NVRTC entry points NetGen binds, implemented
// on the CPU so the generated CUDA path runs end to end in CI (tests/NetGen.Integration.Tests/FakeCudaTests.cs).
// "Device memory" is host memory; a stream runs its work at once, in order, unless it is being captured into a graph,
// in which case the work is recorded and runs when the graph is launched. Nothing here is fast; it is meant to be
// obviously right, so that a mismatch against the CPU path points at the host code that drives the GPU.
#pragma once
#include <functional>

// Runs `work` on `stream` now, or records it when the stream is capturing. Every entry point that takes a stream (or a
// handle bound to one) goes through here, copying its arguments by value into the closure.
void netgen_fake_enqueue(void* stream, std::function<void()> work);
