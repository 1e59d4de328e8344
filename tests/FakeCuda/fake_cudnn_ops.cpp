// Stands for one of cuDNN 9's sub-libraries. The real libcudnn.so.9 is a shim that opens libcudnn_ops.so.9,
// libcudnn_cnn.so.9, ... by file name on first use; the fake cudnnCreate (fake_cudnn.cpp) opens this one the same way,
// so a resolver that loads the shim from a folder off the loader's path without its sub-libraries fails on the fake too.
extern "C" __attribute__((visibility("default"))) int netgen_fake_cudnn_ops_version() { return 9; }
