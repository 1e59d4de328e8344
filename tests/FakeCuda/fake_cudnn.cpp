// NetGen's fake cuDNN for CI: every entry point src/Runtime/Cuda/Native/Cudnn.cs binds, on the CPU (see fake.h).
//
// Faithful (cuDNN 9 legacy API semantics, fp32, NCHW, plain loops with double accumulators):
//   handles and streams; tensor, filter and convolution descriptors; cudnnGetConvolution2dForwardOutputDim;
//   the three cudnnFind*AlgorithmEx searches (one result, nothing computed); cudnnConvolutionForward / BackwardData /
//   BackwardFilter / BackwardBias (stride, padding, dilation, cross-correlation and true convolution, groups = 1);
//   cudnnAddTensor (broadcasting A over C); batch normalization (per-activation and spatial modes).
//   Every output is blended as cuDNN documents: dst = alpha * result + beta * dst, and dst is not read when beta == 0
//   (it may hold NaN garbage). alpha/beta are host pointers read when the call is made, as cuDNN does.
// The shim: cudnnCreate opens libcudnn_graph.so.9 and libcudnn_ops.so.9 by file name, as cuDNN 9's libcudnn.so.9 opens
//   its sub-libraries, and fails with CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED (1008) when the loader cannot find one
//   (fake_cudnn_sublibrary.cpp).
// Stubs: pooling, activation, softmax, LRN, dropout and RNN computations (NetGen runs its own kernels for those) return
//   CUDNN_STATUS_NOT_SUPPORTED and say so on stderr; their descriptors can still be created and destroyed.
// Errors: status codes are cuDNN 9's (BAD_PARAM 2000, NOT_SUPPORTED 3000); each failure prints one line to stderr
//   saying why, since NetGen only sees the status. Shapes are checked as cuDNN checks them (a mismatch is BAD_PARAM).
// Work is queued with netgen_fake_enqueue on the handle's stream; each closure holds copies of the descriptors' contents
//   and the scalars, so a captured graph replays exactly what was asked at capture time. The workspace is never used.
#include "fake.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <dlfcn.h>
#include <vector>

namespace {

// cudnnStatus_t (cuDNN 9 renumbered them into categories)
constexpr int kSuccess = 0, kSublibraryLoadingFailed = 1008, kBadParam = 2000, kNotSupported = 3000;
// enum values from Cudnn.cs
constexpr int kFloat = 0, kNchw = 0, kNhwc = 1, kConvolution = 0, kCrossCorrelation = 1, kFmaMath = 3;
constexpr int kPerActivation = 0, kSpatial = 1, kSpatialPersistent = 2;
constexpr int kForwardAlgos = 8, kBackwardDataAlgos = 6, kBackwardFilterAlgos = 7;

__attribute__((format(printf, 3, 4))) int fail(int status, const char* call, const char* format, ...)
{
    std::fprintf(stderr, "[fake cuDNN] %s: ", call);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    return status;
}

struct Handle { void* stream = nullptr; };

enum class Kind { Tensor, Filter, Convolution, Pooling, Activation, Lrn, Dropout, Rnn, RnnData };

struct Shape
{
    int n = 0, c = 0, h = 0, w = 0; // a filter's k, c, r, s
    long long count() const { return (long long)n * c * h * w; }
    bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
    bool operator!=(const Shape& o) const { return !(*this == o); }
};

struct ConvParams { int padH = 0, padW = 0, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1, mode = kCrossCorrelation, mathType = 0, groups = 1; };

// One struct serves every kind; `kind` catches a descriptor of the wrong kind, `set` one that was never set.
struct Descriptor
{
    Kind kind;
    bool set = false;
    Shape shape;     // tensor [n, c, h, w] or filter [k, c, r, s]
    ConvParams conv; // convolution
};

int create(void** out, Kind kind, const char* call)
{
    if (!out) return fail(kBadParam, call, "null output pointer");
    *out = new Descriptor{kind, false, Shape{}, ConvParams{}};
    return kSuccess;
}

int destroy(void* d, Kind kind, const char* call)
{
    if (!d) return kSuccess;
    if (static_cast<Descriptor*>(d)->kind != kind) return fail(kBadParam, call, "descriptor of another kind");
    delete static_cast<Descriptor*>(d);
    return kSuccess;
}

// The descriptor behind `d` if it is of `kind` and was set, else null.
const Descriptor* get(const void* d, Kind kind)
{
    auto p = static_cast<const Descriptor*>(d);
    return p && p->kind == kind && p->set ? p : nullptr;
}

// "2x3x8x8", for messages (a value, so one message can describe several shapes)
struct Text { char s[48]; };
Text describe(const Shape& s)
{
    Text t;
    std::snprintf(t.s, sizeof t.s, "%dx%dx%dx%d", s.n, s.c, s.h, s.w);
    return t;
}

// dst = alpha * value + beta * dst, without reading dst when beta is 0.
inline void blend(float& dst, double value, float alpha, float beta)
{
    dst = beta == 0.0f ? (float)(alpha * value) : (float)(alpha * value + (double)beta * dst);
}

// ------------------------------------------------------------------ convolution geometry

// One convolution in cuDNN's roles: x [N, C, H, W] * w [K, C, R, S] -> y [N, K, P, Q].
struct Conv { Shape x, w, y; ConvParams p; };

// Output size along one axis, or 0 when the dilated filter does not fit the padded input.
int outputSize(int in, int pad, int filter, int stride, int dilation)
{
    int span = (filter - 1) * dilation + 1;
    return in + 2 * pad < span ? 0 : (in + 2 * pad - span) / stride + 1;
}

// Checks x, w, conv and y descriptors the way every convolution call needs them; fills `g`.
int checkConv(Conv& g, const void* xDesc, const void* wDesc, const void* convDesc, const void* yDesc, const char* call)
{
    auto x = get(xDesc, Kind::Tensor), y = get(yDesc, Kind::Tensor), w = get(wDesc, Kind::Filter);
    auto c = get(convDesc, Kind::Convolution);
    if (!x || !y || !w || !c) return fail(kBadParam, call, "a descriptor is null, unset or of the wrong kind");
    g = Conv{x->shape, w->shape, y->shape, c->conv};
    if (g.x.c != g.w.c) return fail(kBadParam, call, "input %s has %d channels, filter %s wants %d", describe(g.x).s, g.x.c, describe(g.w).s, g.w.c);
    Shape expected{g.x.n, g.w.n, outputSize(g.x.h, g.p.padH, g.w.h, g.p.strideH, g.p.dilationH),
                   outputSize(g.x.w, g.p.padW, g.w.w, g.p.strideW, g.p.dilationW)};
    if (expected.h == 0 || expected.w == 0) return fail(kBadParam, call, "filter %s larger than padded input %s", describe(g.w).s, describe(g.x).s);
    if (g.y != expected) return fail(kBadParam, call, "output tensor is %s, the convolution gives %s", describe(g.y).s, describe(expected).s);
    return kSuccess;
}

// Calls tap(oh, ow, ih, iw, wi) for every product x[n, c, ih, iw] * w[wi] that adds to y[n, k, oh, ow] (any n): the
// whole convolution, once, for output channel k and input channel c. wi indexes the stored filter: true convolution
// (mode CONVOLUTION) flips it, cross-correlation does not.
template <class Tap> void forEachTap(const Conv& g, int k, int c, Tap tap)
{
    const ConvParams& p = g.p;
    bool flip = p.mode == kConvolution;
    for (int r = 0; r < g.w.h; r++)
        for (int s = 0; s < g.w.w; s++)
        {
            long long wi = (((long long)k * g.w.c + c) * g.w.h + (flip ? g.w.h - 1 - r : r)) * g.w.w + (flip ? g.w.w - 1 - s : s);
            for (int oh = 0; oh < g.y.h; oh++)
            {
                int ih = oh * p.strideH - p.padH + r * p.dilationH;
                if (ih < 0 || ih >= g.x.h) continue;
                for (int ow = 0; ow < g.y.w; ow++)
                {
                    int iw = ow * p.strideW - p.padW + s * p.dilationW;
                    if (iw >= 0 && iw < g.x.w) tap(oh, ow, ih, iw, wi);
                }
            }
        }
}

inline long long at(const Shape& s, int n, int c, int h, int w) { return (((long long)n * s.c + c) * s.h + h) * s.w + w; }

// A product's input as the math type reads it: exact under CUDNN_FMA_MATH, TF32 under the others (what Ampere and
// later do for fp32 convolutions unless NVIDIA_TF32_OVERRIDE=0).
inline float operand(const Conv& g, float v) { return g.p.mathType == kFmaMath ? v : netgen_fake_tf32(v); }

// y = alpha * conv(x, w) + beta * y
void convForward(const Conv& g, float alpha, const float* x, const float* w, float beta, float* y)
{
    auto in = [&](float v) { return operand(g, v); };
    std::vector<double> acc((size_t)g.y.h * g.y.w);
    for (int n = 0; n < g.x.n; n++)
        for (int k = 0; k < g.w.n; k++)
        {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int c = 0; c < g.x.c; c++)
                forEachTap(g, k, c, [&](int oh, int ow, int ih, int iw, long long wi) {
                    acc[(size_t)oh * g.y.w + ow] += (double)in(x[at(g.x, n, c, ih, iw)]) * in(w[wi]);
                });
            for (int oh = 0; oh < g.y.h; oh++)
                for (int ow = 0; ow < g.y.w; ow++) blend(y[at(g.y, n, k, oh, ow)], acc[(size_t)oh * g.y.w + ow], alpha, beta);
        }
}

// dx = alpha * conv^T(dy, w) + beta * dx: the adjoint of convForward, scattering each product back.
void convBackwardData(const Conv& g, float alpha, const float* w, const float* dy, float beta, float* dx)
{
    auto in = [&](float v) { return operand(g, v); };
    std::vector<double> acc((size_t)g.x.h * g.x.w);
    for (int n = 0; n < g.x.n; n++)
        for (int c = 0; c < g.x.c; c++)
        {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int k = 0; k < g.w.n; k++)
                forEachTap(g, k, c, [&](int oh, int ow, int ih, int iw, long long wi) {
                    acc[(size_t)ih * g.x.w + iw] += (double)in(dy[at(g.y, n, k, oh, ow)]) * in(w[wi]);
                });
            for (int ih = 0; ih < g.x.h; ih++)
                for (int iw = 0; iw < g.x.w; iw++) blend(dx[at(g.x, n, c, ih, iw)], acc[(size_t)ih * g.x.w + iw], alpha, beta);
        }
}

// dw = alpha * sum over n, p, q of dy * x + beta * dw
void convBackwardFilter(const Conv& g, float alpha, const float* x, const float* dy, float beta, float* dw)
{
    auto in = [&](float v) { return operand(g, v); };
    std::vector<double> acc((size_t)g.w.count());
    for (int n = 0; n < g.x.n; n++)
        for (int k = 0; k < g.w.n; k++)
            for (int c = 0; c < g.x.c; c++)
                forEachTap(g, k, c, [&](int oh, int ow, int ih, int iw, long long wi) {
                    acc[(size_t)wi] += (double)in(dy[at(g.y, n, k, oh, ow)]) * in(x[at(g.x, n, c, ih, iw)]);
                });
    for (size_t i = 0; i < acc.size(); i++) blend(dw[i], acc[i], alpha, beta);
}

// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: 48 bytes, memory at offset 16 (Cudnn.AlgorithmPerf).
struct AlgoPerf { int algo, status; float time; size_t memory; int determinism, mathType, reserved[3]; };
static_assert(sizeof(AlgoPerf) == 48 && offsetof(AlgoPerf, memory) == 16, "cudnn*AlgoPerf_t layout");

// A search: checks what the real one checks and reports one deterministic, workspace-free algorithm. Nothing is run,
// so the buffers are left alone (real cuDNN overwrites the output buffer with scratch results).
int find(const void* handle, int algo, const void* xDesc, const void* wDesc, const void* convDesc, const void* yDesc, const void* a, const void* b,
         const void* out, int requested, int* returned, AlgoPerf* results, const char* call)
{
    Conv g;
    if (int status = checkConv(g, xDesc, wDesc, convDesc, yDesc, call)) return status;
    if (!handle || !a || !b || !out || !returned || !results || requested < 1) return fail(kBadParam, call, "null pointer or requested < 1");
    results[0] = AlgoPerf{algo, kSuccess, 1.0f, 0, /* CUDNN_DETERMINISTIC */ 1, g.p.mathType, {0, 0, 0}};
    *returned = 1;
    return kSuccess;
}

// ------------------------------------------------------------------ batch normalization

// x [N, C, H, W] split into `groups` statistics groups of N * inner elements: group g of sample n is the `inner`
// contiguous elements at n * C*H*W + g * inner (spatial: a channel plane; per-activation: one element).
struct Bn { int n, groups, inner; long long sample; float alpha, beta; };

int checkBn(Bn& b, int mode, const void* xDesc, const void* yDesc, const void* bnDesc, const float* alpha, const float* beta, const char* call)
{
    auto x = get(xDesc, Kind::Tensor), y = get(yDesc, Kind::Tensor), p = get(bnDesc, Kind::Tensor);
    if (!x || !y || !p || !alpha || !beta) return fail(kBadParam, call, "a descriptor or scaling factor is null, unset or of the wrong kind");
    if (x->shape != y->shape) return fail(kBadParam, call, "x is %s, y/dy/dx is %s", describe(x->shape).s, describe(y->shape).s);
    if (mode != kPerActivation && mode != kSpatial && mode != kSpatialPersistent) return fail(kBadParam, call, "mode %d", mode);
    bool spatial = mode != kPerActivation;
    Shape derived{1, x->shape.c, spatial ? 1 : x->shape.h, spatial ? 1 : x->shape.w};
    if (p->shape != derived) return fail(kBadParam, call, "parameter tensor is %s, not %s", describe(p->shape).s, describe(derived).s);
    int hw = x->shape.h * x->shape.w;
    b = Bn{x->shape.n, spatial ? x->shape.c : x->shape.c * hw, spatial ? hw : 1, (long long)x->shape.c * hw, *alpha, *beta};
    return kSuccess;
}

// Calls f(i) for each element index of statistics group g.
template <class F> void forGroup(const Bn& b, int g, F f)
{
    for (int n = 0; n < b.n; n++)
        for (int j = 0; j < b.inner; j++) f(n * b.sample + (long long)g * b.inner + j);
}

// Batch mean and biased variance of group g, two-pass in double.
void groupStats(const Bn& b, int g, const float* x, double& mean, double& variance)
{
    double sum = 0, squares = 0, count = (double)b.n * b.inner;
    forGroup(b, g, [&](long long i) { sum += x[i]; });
    mean = sum / count;
    forGroup(b, g, [&](long long i) { double d = x[i] - mean; squares += d * d; });
    variance = squares / count;
}

} // namespace

extern "C" {

// ------------------------------------------------------------------ library, handles, streams

size_t cudnnGetVersion() { return 90000; } // 9.0.0

const char* cudnnGetErrorString(int status)
{
    switch (status)
    {
        case kSuccess: return "CUDNN_STATUS_SUCCESS";
        case 1001: return "CUDNN_STATUS_NOT_INITIALIZED";
        case kSublibraryLoadingFailed: return "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED";
        case kBadParam: return "CUDNN_STATUS_BAD_PARAM";
        case kNotSupported: return "CUDNN_STATUS_NOT_SUPPORTED";
        case 4000: return "CUDNN_STATUS_INTERNAL_ERROR";
        case 5000: return "CUDNN_STATUS_EXECUTION_FAILED";
        default: return "CUDNN_UNKNOWN_STATUS_FOUND";
    }
}

int cudnnCreate(void** handle)
{
    if (!handle) return fail(kBadParam, "cudnnCreate", "null output pointer");
    // cuDNN 9's libcudnn.so.9 is a shim that opens its sub-libraries by file name. The fake does the same with two
    // (run.sh builds them next to the fake, off the loader's path): they are found only because NetGen's resolver
    // loaded them from the shim's folder first (CudaLibraries.Companions).
    for (const char* part : {"libcudnn_graph.so.9", "libcudnn_ops.so.9"})
        if (!dlopen(part, RTLD_NOW | RTLD_LOCAL)) return fail(kSublibraryLoadingFailed, "cudnnCreate", "%s", dlerror());
    *handle = new Handle{};
    return kSuccess;
}

int cudnnDestroy(void* handle)
{
    if (!handle) return fail(kBadParam, "cudnnDestroy", "null handle");
    delete static_cast<Handle*>(handle);
    return kSuccess;
}

int cudnnSetStream(void* handle, void* stream)
{
    if (!handle) return fail(kBadParam, "cudnnSetStream", "null handle");
    static_cast<Handle*>(handle)->stream = stream;
    return kSuccess;
}

// ------------------------------------------------------------------ descriptors

int cudnnCreateTensorDescriptor(void** d) { return create(d, Kind::Tensor, "cudnnCreateTensorDescriptor"); }
int cudnnDestroyTensorDescriptor(void* d) { return destroy(d, Kind::Tensor, "cudnnDestroyTensorDescriptor"); }
int cudnnCreateFilterDescriptor(void** d) { return create(d, Kind::Filter, "cudnnCreateFilterDescriptor"); }
int cudnnDestroyFilterDescriptor(void* d) { return destroy(d, Kind::Filter, "cudnnDestroyFilterDescriptor"); }
int cudnnCreateConvolutionDescriptor(void** d) { return create(d, Kind::Convolution, "cudnnCreateConvolutionDescriptor"); }
int cudnnDestroyConvolutionDescriptor(void* d) { return destroy(d, Kind::Convolution, "cudnnDestroyConvolutionDescriptor"); }
int cudnnCreatePoolingDescriptor(void** d) { return create(d, Kind::Pooling, "cudnnCreatePoolingDescriptor"); }
int cudnnDestroyPoolingDescriptor(void* d) { return destroy(d, Kind::Pooling, "cudnnDestroyPoolingDescriptor"); }
int cudnnCreateActivationDescriptor(void** d) { return create(d, Kind::Activation, "cudnnCreateActivationDescriptor"); }
int cudnnDestroyActivationDescriptor(void* d) { return destroy(d, Kind::Activation, "cudnnDestroyActivationDescriptor"); }
int cudnnCreateLRNDescriptor(void** d) { return create(d, Kind::Lrn, "cudnnCreateLRNDescriptor"); }
int cudnnDestroyLRNDescriptor(void* d) { return destroy(d, Kind::Lrn, "cudnnDestroyLRNDescriptor"); }
int cudnnCreateDropoutDescriptor(void** d) { return create(d, Kind::Dropout, "cudnnCreateDropoutDescriptor"); }
int cudnnDestroyDropoutDescriptor(void* d) { return destroy(d, Kind::Dropout, "cudnnDestroyDropoutDescriptor"); }
int cudnnCreateRNNDescriptor(void** d) { return create(d, Kind::Rnn, "cudnnCreateRNNDescriptor"); }
int cudnnDestroyRNNDescriptor(void* d) { return destroy(d, Kind::Rnn, "cudnnDestroyRNNDescriptor"); }
int cudnnCreateRNNDataDescriptor(void** d) { return create(d, Kind::RnnData, "cudnnCreateRNNDataDescriptor"); }
int cudnnDestroyRNNDataDescriptor(void* d) { return destroy(d, Kind::RnnData, "cudnnDestroyRNNDataDescriptor"); }

// Tensors and filters: fp32 NCHW only (other layouts and types are valid cuDNN but not implemented here).
static int setShape(void* desc, Kind kind, int format, int dataType, Shape s, const char* call)
{
    auto d = static_cast<Descriptor*>(desc);
    if (!d || d->kind != kind) return fail(kBadParam, call, "null descriptor or of the wrong kind");
    if (format != kNchw && format != kNhwc) return fail(kBadParam, call, "format %d", format);
    if (format != kNchw || dataType != kFloat) return fail(kNotSupported, call, "the fake supports fp32 NCHW only (format %d, type %d)", format, dataType);
    if (s.n <= 0 || s.c <= 0 || s.h <= 0 || s.w <= 0) return fail(kBadParam, call, "dimensions %s", describe(s).s);
    d->shape = s;
    d->set = true;
    return kSuccess;
}

int cudnnSetTensor4dDescriptor(void* d, int format, int dataType, int n, int c, int h, int w)
{
    return setShape(d, Kind::Tensor, format, dataType, Shape{n, c, h, w}, "cudnnSetTensor4dDescriptor");
}

int cudnnSetFilter4dDescriptor(void* d, int dataType, int format, int k, int c, int h, int w)
{
    return setShape(d, Kind::Filter, format, dataType, Shape{k, c, h, w}, "cudnnSetFilter4dDescriptor");
}

int cudnnSetConvolution2dDescriptor(void* desc, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW, int mode, int computeType)
{
    const char* call = "cudnnSetConvolution2dDescriptor";
    auto d = static_cast<Descriptor*>(desc);
    if (!d || d->kind != Kind::Convolution) return fail(kBadParam, call, "null descriptor or of the wrong kind");
    if (padH < 0 || padW < 0 || strideH <= 0 || strideW <= 0 || dilationH <= 0 || dilationW <= 0 || (mode != kConvolution && mode != kCrossCorrelation))
        return fail(kBadParam, call, "pad %d,%d stride %d,%d dilation %d,%d mode %d", padH, padW, strideH, strideW, dilationH, dilationW, mode);
    if (computeType != kFloat) return fail(kNotSupported, call, "the fake computes in fp32 only (type %d)", computeType);
    // the math type and group count are separate settings, left as they are
    d->conv = ConvParams{padH, padW, strideH, strideW, dilationH, dilationW, mode, d->conv.mathType, d->conv.groups};
    d->set = true;
    return kSuccess;
}

int cudnnSetConvolutionMathType(void* desc, int mathType)
{
    auto d = static_cast<Descriptor*>(desc);
    if (!d || d->kind != Kind::Convolution || mathType < 0 || mathType > kFmaMath)
        return fail(kBadParam, "cudnnSetConvolutionMathType", "bad descriptor or math type %d", mathType);
    d->conv.mathType = mathType; // reported by the searches; any type but FMA rounds the products' inputs to TF32
    return kSuccess;
}

int cudnnSetConvolutionGroupCount(void* desc, int groups)
{
    auto d = static_cast<Descriptor*>(desc);
    if (!d || d->kind != Kind::Convolution || groups < 1) return fail(kBadParam, "cudnnSetConvolutionGroupCount", "bad descriptor or %d groups", groups);
    if (groups != 1) return fail(kNotSupported, "cudnnSetConvolutionGroupCount", "the fake supports groups = 1 only (%d)", groups);
    d->conv.groups = groups;
    return kSuccess;
}

int cudnnGetConvolution2dForwardOutputDim(const void* convDesc, const void* xDesc, const void* wDesc, int* n, int* c, int* h, int* w)
{
    const char* call = "cudnnGetConvolution2dForwardOutputDim";
    auto conv = get(convDesc, Kind::Convolution), x = get(xDesc, Kind::Tensor), f = get(wDesc, Kind::Filter);
    if (!conv || !x || !f || !n || !c || !h || !w) return fail(kBadParam, call, "a descriptor or output is null, unset or of the wrong kind");
    if (x->shape.c != f->shape.c) return fail(kBadParam, call, "input %s, filter %s: channels differ", describe(x->shape).s, describe(f->shape).s);
    const ConvParams& p = conv->conv;
    int oh = outputSize(x->shape.h, p.padH, f->shape.h, p.strideH, p.dilationH), ow = outputSize(x->shape.w, p.padW, f->shape.w, p.strideW, p.dilationW);
    if (oh == 0 || ow == 0) return fail(kBadParam, call, "filter larger than the padded input %s", describe(x->shape).s);
    *n = x->shape.n; *c = f->shape.n; *h = oh; *w = ow;
    return kSuccess;
}

// ------------------------------------------------------------------ convolutions

// Algorithm 0 for forward (IMPLICIT_GEMM, deterministic); ALGO_1 for the backward directions, because their ALGO_0
// uses atomics (non-deterministic) on a real GPU and the fake reports determinism 1.
int cudnnFindConvolutionForwardAlgorithmEx(void* handle, const void* xDesc, const float* x, const void* wDesc, const float* w, const void* convDesc,
    const void* yDesc, float* y, int requested, int* returned, AlgoPerf* results, void*, size_t)
{
    return find(handle, 0, xDesc, wDesc, convDesc, yDesc, x, w, y, requested, returned, results, "cudnnFindConvolutionForwardAlgorithmEx");
}

int cudnnFindConvolutionBackwardDataAlgorithmEx(void* handle, const void* wDesc, const float* w, const void* dyDesc, const float* dy, const void* convDesc,
    const void* dxDesc, float* dx, int requested, int* returned, AlgoPerf* results, void*, size_t)
{
    return find(handle, 1, dxDesc, wDesc, convDesc, dyDesc, w, dy, dx, requested, returned, results, "cudnnFindConvolutionBackwardDataAlgorithmEx");
}

int cudnnFindConvolutionBackwardFilterAlgorithmEx(void* handle, const void* xDesc, const float* x, const void* dyDesc, const float* dy, const void* convDesc,
    const void* dwDesc, float* dw, int requested, int* returned, AlgoPerf* results, void*, size_t)
{
    return find(handle, 1, xDesc, dwDesc, convDesc, dyDesc, x, dy, dw, requested, returned, results, "cudnnFindConvolutionBackwardFilterAlgorithmEx");
}

// What the three computing calls check before queueing: handle, scalars, buffers, descriptors, algorithm.
static int checkCall(Conv& g, void* handle, const float* alpha, const float* beta, const void* a, const void* b, const void* out,
                     const void* xDesc, const void* wDesc, const void* convDesc, const void* yDesc, int algo, int algos, const char* call)
{
    if (!handle || !alpha || !beta || !a || !b || !out) return fail(kBadParam, call, "null handle, scaling factor or buffer");
    if (algo < 0 || algo >= algos) return fail(kBadParam, call, "algorithm %d", algo);
    return checkConv(g, xDesc, wDesc, convDesc, yDesc, call);
}

int cudnnConvolutionForward(void* handle, const float* alpha, const void* xDesc, const float* x, const void* wDesc, const float* w, const void* convDesc,
    int algo, void*, size_t, const float* beta, const void* yDesc, float* y)
{
    Conv g;
    if (int s = checkCall(g, handle, alpha, beta, x, w, y, xDesc, wDesc, convDesc, yDesc, algo, kForwardAlgos, "cudnnConvolutionForward")) return s;
    float a = *alpha, b = *beta;
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] { convForward(g, a, x, w, b, y); });
    return kSuccess;
}

int cudnnConvolutionBackwardData(void* handle, const float* alpha, const void* wDesc, const float* w, const void* dyDesc, const float* dy, const void* convDesc,
    int algo, void*, size_t, const float* beta, const void* dxDesc, float* dx)
{
    Conv g;
    if (int s = checkCall(g, handle, alpha, beta, w, dy, dx, dxDesc, wDesc, convDesc, dyDesc, algo, kBackwardDataAlgos, "cudnnConvolutionBackwardData")) return s;
    float a = *alpha, b = *beta;
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] { convBackwardData(g, a, w, dy, b, dx); });
    return kSuccess;
}

int cudnnConvolutionBackwardFilter(void* handle, const float* alpha, const void* xDesc, const float* x, const void* dyDesc, const float* dy, const void* convDesc,
    int algo, void*, size_t, const float* beta, const void* dwDesc, float* dw)
{
    Conv g;
    if (int s = checkCall(g, handle, alpha, beta, x, dy, dw, xDesc, dwDesc, convDesc, dyDesc, algo, kBackwardFilterAlgos, "cudnnConvolutionBackwardFilter")) return s;
    float a = *alpha, b = *beta;
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] { convBackwardFilter(g, a, x, dy, b, dw); });
    return kSuccess;
}

// db [1, K, 1, 1] = alpha * (sum of dy [N, K, P, Q] over n, p, q) + beta * db
int cudnnConvolutionBackwardBias(void* handle, const float* alpha, const void* dyDesc, const float* dy, const float* beta, const void* dbDesc, float* db)
{
    const char* call = "cudnnConvolutionBackwardBias";
    auto y = get(dyDesc, Kind::Tensor), bias = get(dbDesc, Kind::Tensor);
    if (!handle || !alpha || !beta || !dy || !db || !y || !bias) return fail(kBadParam, call, "null handle, scaling factor, buffer or descriptor");
    Shape s = y->shape;
    if (bias->shape != Shape{1, s.c, 1, 1}) return fail(kBadParam, call, "db is %s for dy %s", describe(bias->shape).s, describe(s).s);
    float a = *alpha, b = *beta;
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] {
        for (int c = 0; c < s.c; c++)
        {
            double sum = 0;
            for (int n = 0; n < s.n; n++)
                for (int i = 0; i < s.h * s.w; i++) sum += dy[at(s, n, c, 0, 0) + i];
            blend(db[c], sum, a, b);
        }
    });
    return kSuccess;
}

// C = alpha * A + beta * C, each dimension of A equal to C's or 1 (broadcast).
int cudnnAddTensor(void* handle, const float* alpha, const void* aDesc, const float* A, const float* beta, const void* cDesc, float* C)
{
    const char* call = "cudnnAddTensor";
    auto ad = get(aDesc, Kind::Tensor), cd = get(cDesc, Kind::Tensor);
    if (!handle || !alpha || !beta || !A || !C || !ad || !cd) return fail(kBadParam, call, "null handle, scaling factor, buffer or descriptor");
    Shape as = ad->shape, cs = cd->shape;
    if ((as.n != cs.n && as.n != 1) || (as.c != cs.c && as.c != 1) || (as.h != cs.h && as.h != 1) || (as.w != cs.w && as.w != 1))
        return fail(kBadParam, call, "A %s does not broadcast to C %s", describe(as).s, describe(cs).s);
    float a = *alpha, b = *beta;
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] {
        for (int n = 0; n < cs.n; n++)
            for (int c = 0; c < cs.c; c++)
                for (int h = 0; h < cs.h; h++)
                    for (int w = 0; w < cs.w; w++)
                        blend(C[at(cs, n, c, h, w)], A[at(as, as.n == 1 ? 0 : n, as.c == 1 ? 0 : c, as.h == 1 ? 0 : h, as.w == 1 ? 0 : w)], a, b);
    });
    return kSuccess;
}

// ------------------------------------------------------------------ batch normalization

int cudnnDeriveBNTensorDescriptor(void* derived, const void* xDesc, int mode)
{
    auto d = static_cast<Descriptor*>(derived);
    auto x = get(xDesc, Kind::Tensor);
    if (!d || d->kind != Kind::Tensor || !x || mode < kPerActivation || mode > kSpatialPersistent)
        return fail(kBadParam, "cudnnDeriveBNTensorDescriptor", "bad descriptor or mode %d", mode);
    d->shape = mode == kPerActivation ? Shape{1, x->shape.c, x->shape.h, x->shape.w} : Shape{1, x->shape.c, 1, 1};
    d->set = true;
    return kSuccess;
}

// y = alpha * (scale * (x - mean) / sqrt(var + eps) + bias) + beta * y with the batch's mean and biased variance.
// running = (1 - factor) * running + factor * batch statistic, the variance unbiased (M / (M - 1), M the group size;
// for M == 1 the variance itself, as the CPU path does). saveInvVariance = 1 / sqrt(biased var + eps).
int cudnnBatchNormalizationForwardTraining(void* handle, int mode, const float* alpha, const float* beta, const void* xDesc, const float* x,
    const void* yDesc, float* y, const void* bnDesc, const float* scale, const float* bias, double factor, float* runningMean, float* runningVariance,
    double epsilon, float* saveMean, float* saveInvVariance)
{
    const char* call = "cudnnBatchNormalizationForwardTraining";
    Bn b;
    if (int s = checkBn(b, mode, xDesc, yDesc, bnDesc, alpha, beta, call)) return s;
    if (!handle || !x || !y || !scale || !bias || !runningMean != !runningVariance || !saveMean != !saveInvVariance || epsilon < 0)
        return fail(kBadParam, call, "null handle/buffer, half-given running or saved statistics, or epsilon %g < 0", epsilon);
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] {
        double count = (double)b.n * b.inner;
        for (int g = 0; g < b.groups; g++)
        {
            double mean, variance;
            groupStats(b, g, x, mean, variance);
            double invStd = 1.0 / std::sqrt(variance + epsilon);
            forGroup(b, g, [&](long long i) { blend(y[i], scale[g] * (x[i] - mean) * invStd + bias[g], b.alpha, b.beta); });
            if (runningMean)
            {
                double unbiased = count > 1 ? variance * count / (count - 1) : variance;
                runningMean[g] = (float)((1.0 - factor) * runningMean[g] + factor * mean);
                runningVariance[g] = (float)((1.0 - factor) * runningVariance[g] + factor * unbiased);
            }
            if (saveMean) { saveMean[g] = (float)mean; saveInvVariance[g] = (float)invStd; }
        }
    });
    return kSuccess;
}

// y = alpha * (scale * (x - estimatedMean) / sqrt(estimatedVariance + eps) + bias) + beta * y
int cudnnBatchNormalizationForwardInference(void* handle, int mode, const float* alpha, const float* beta, const void* xDesc, const float* x,
    const void* yDesc, float* y, const void* bnDesc, const float* scale, const float* bias, const float* mean, const float* variance, double epsilon)
{
    const char* call = "cudnnBatchNormalizationForwardInference";
    Bn b;
    if (int s = checkBn(b, mode, xDesc, yDesc, bnDesc, alpha, beta, call)) return s;
    if (!handle || !x || !y || !scale || !bias || !mean || !variance || epsilon < 0) return fail(kBadParam, call, "null handle or buffer, or epsilon %g < 0", epsilon);
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] {
        for (int g = 0; g < b.groups; g++)
        {
            double invStd = 1.0 / std::sqrt((double)variance[g] + epsilon);
            forGroup(b, g, [&](long long i) { blend(y[i], scale[g] * (x[i] - (double)mean[g]) * invStd + bias[g], b.alpha, b.beta); });
        }
    });
    return kSuccess;
}

// With xhat = (x - mean) * invStd over a group of M elements (mean and invStd as saved, or recomputed from x and
// epsilon when both saved pointers are null): dBias = sum(dy), dScale = sum(dy * xhat),
// dx = scale * invStd * (dy - dBias / M - xhat * dScale / M). dx blends with alphaData/betaData, dScale and dBias
// with alphaParam/betaParam.
int cudnnBatchNormalizationBackward(void* handle, int mode, const float* alphaData, const float* betaData, const float* alphaParam, const float* betaParam,
    const void* xDesc, const float* x, const void* dyDesc, const float* dy, const void* dxDesc, float* dx, const void* bnDesc, const float* scale,
    float* dScale, float* dBias, double epsilon, const float* savedMean, const float* savedInvVariance)
{
    const char* call = "cudnnBatchNormalizationBackward";
    Bn b;
    if (int s = checkBn(b, mode, xDesc, dyDesc, bnDesc, alphaData, betaData, call)) return s;
    auto xd = get(xDesc, Kind::Tensor), dxd = get(dxDesc, Kind::Tensor);
    if (!dxd || dxd->shape != xd->shape || !alphaParam || !betaParam) return fail(kBadParam, call, "dx descriptor differs from x, or a null scaling factor");
    if (!handle || !x || !dy || !dx || !scale || !dScale || !dBias || !savedMean != !savedInvVariance || epsilon < 0)
        return fail(kBadParam, call, "null handle/buffer, half-given saved statistics, or epsilon %g < 0", epsilon);
    float ap = *alphaParam, bp = *betaParam;
    netgen_fake_enqueue(static_cast<Handle*>(handle)->stream, [=] {
        double count = (double)b.n * b.inner;
        for (int g = 0; g < b.groups; g++)
        {
            double mean, invStd;
            if (savedMean) { mean = savedMean[g]; invStd = savedInvVariance[g]; }
            else { double variance; groupStats(b, g, x, mean, variance); invStd = 1.0 / std::sqrt(variance + epsilon); }
            double sumDy = 0, sumDyXhat = 0;
            forGroup(b, g, [&](long long i) { sumDy += dy[i]; sumDyXhat += dy[i] * (x[i] - mean) * invStd; });
            double k = scale[g] * invStd;
            forGroup(b, g, [&](long long i) {
                double xhat = (x[i] - mean) * invStd;
                blend(dx[i], k * (dy[i] - sumDy / count - xhat * sumDyXhat / count), b.alpha, b.beta);
            });
            blend(dScale[g], sumDyXhat, ap, bp);
            blend(dBias[g], sumDy, ap, bp);
        }
    });
    return kSuccess;
}

// ------------------------------------------------------------------ not implemented: NetGen runs its own kernels

// Dropout states: none needed by a fake that never drops anything.
int cudnnDropoutGetStatesSize(void* handle, size_t* bytes)
{
    if (!handle || !bytes) return fail(kBadParam, "cudnnDropoutGetStatesSize", "null handle or output");
    *bytes = 0;
    return kSuccess;
}

#define NETGEN_STUB(name, ...) \
    int name(__VA_ARGS__) { return fail(kNotSupported, #name, "not implemented by the fake cuDNN (NetGen does not call it)"); }

NETGEN_STUB(cudnnSetPooling2dDescriptor, void*, int, int, int, int, int, int, int, int)
NETGEN_STUB(cudnnPoolingForward, void*, void*, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnPoolingBackward, void*, void*, const float*, void*, const float*, void*, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnSetActivationDescriptor, void*, int, int, double)
NETGEN_STUB(cudnnActivationForward, void*, void*, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnActivationBackward, void*, void*, const float*, void*, const float*, void*, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnSoftmaxForward, void*, int, int, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnSoftmaxBackward, void*, int, int, const float*, void*, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnSetLRNDescriptor, void*, unsigned, double, double, double)
NETGEN_STUB(cudnnLRNCrossChannelForward, void*, void*, int, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnLRNCrossChannelBackward, void*, void*, int, const float*, void*, const float*, void*, const float*, void*, const float*, const float*, void*, float*)
NETGEN_STUB(cudnnDropoutGetReserveSpaceSize, void*, size_t*)
NETGEN_STUB(cudnnSetDropoutDescriptor, void*, void*, float, void*, size_t, unsigned long long)
NETGEN_STUB(cudnnDropoutForward, void*, void*, void*, const float*, void*, float*, void*, size_t)
NETGEN_STUB(cudnnDropoutBackward, void*, void*, void*, const float*, void*, float*, void*, size_t)
NETGEN_STUB(cudnnSetRNNDescriptor_v8, void*, int, int, int, int, int, int, int, int, int, int, int, int, void*, unsigned)
NETGEN_STUB(cudnnSetRNNDataDescriptor, void*, int, int, int, int, int, const int*, void*)
NETGEN_STUB(cudnnGetRNNWeightSpaceSize, void*, void*, size_t*)
NETGEN_STUB(cudnnGetRNNTempSpaceSizes, void*, void*, int, void*, size_t*, size_t*)
NETGEN_STUB(cudnnRNNForward, void*, void*, int, const int*, void*, const float*, void*, float*, void*, const float*, float*, void*, const float*, float*,
            size_t, const float*, size_t, void*, size_t, void*)
NETGEN_STUB(cudnnRNNBackwardData_v8, void*, void*, const int*, void*, const float*, const float*, void*, float*, void*, const float*, const float*, float*,
            void*, const float*, const float*, float*, size_t, const float*, size_t, void*, size_t, void*)
NETGEN_STUB(cudnnRNNBackwardWeights_v8, void*, void*, int, const int*, void*, const float*, void*, const float*, void*, const float*, size_t, float*,
            size_t, void*, size_t, void*)

#undef NETGEN_STUB

} // extern "C"
