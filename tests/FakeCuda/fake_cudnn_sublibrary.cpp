// Stands for one of cuDNN 9's sub-libraries. The real libcudnn.so.9 is a shim that opens libcudnn_graph.so.9,
// libcudnn_ops.so.9, ... by file name on first use; the fake cudnnCreate (fake_cudnn.cpp) opens two of these the same
// way, so a resolver that loads the shim from a folder off the loader's path without its sub-libraries fails on the fake
// too. run.sh builds this file twice: as libcudnn_ops.so.9, and as libcudnn_graph.so.9 linked against libcudnn_ops.so.9
// (the reverse of the order CudaLibraries.Companions lists them in), so the preload must retry what failed for want of
// a library it loads later.
#ifndef NETGEN_FAKE_SUBLIBRARY
#error define NETGEN_FAKE_SUBLIBRARY (the symbol this sub-library exports)
#endif
extern "C" __attribute__((visibility("default"))) int NETGEN_FAKE_SUBLIBRARY() { return 9; }
