// NetGen's fake CUDA device, core half: the CUDA driver and runtime, cuBLAS and NVRTC entry points that
// src/Runtime/Cuda/Native/Bindings.cs and Nvrtc.cs bind (the cuDNN half is fake_cudnn.cpp). See fake.h.
//
// - Memory: cudaMalloc is host memory filled with NaN, so code that reads what it never wrote shows up as NaN.
// - Streams run their work at once, in order. Between cudaStreamBeginCapture and cudaStreamEndCapture the work is
//   recorded instead; a graph launch replays it. The calls CUDA forbids during a capture (synchronous copies and
//   synchronisation, allocation, module loading and kernel lookup, host copies on the captured stream) fail here with
//   cudaErrorStreamCaptureUnsupported, so the host code is held to the rules a real GPU enforces.
// - NVRTC: "compiling" runs g++ on the kernel source behind a shim (blockIdx / threadIdx as variables, __global__
//   defined away) and generates one binder per kernel that copies its arguments from the cuLaunchKernel array; the
//   "CUBIN" (or "PTX", for a compute_XY target) names the shared object, which cuModuleLoadData opens. It knows the
//   architectures NETGEN_FAKE_NVRTC_ARCHS lists (default: CUDA 13's) and rejects others as NVRTC does. With
//   NETGEN_FAKE_NVRTC_CLANG set, the source must first compile as CUDA device code (DeviceCompile). A launch runs every thread of the grid in turn;
//   NetGen's kernels are grid-stride loops over independent indices, so that computes what the GPU computes.
// - cuBLAS SGEMM: a plain column-major triple loop in double (inputs rounded to TF32 under CUBLAS_TF32_TENSOR_OP_MATH).
#include "fake.h"

#include <dlfcn.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#define EXPORT extern "C" __attribute__((visibility("default")))

// A kernel launch with its arguments copied: what a kernel module's netgen_bind_<kernel> returns (see Launchers). The
// same declaration is in the module's shim. Not in an anonymous namespace: with no overrider in this file, GCC would
// devirtualize run() to the pure virtual.
struct netgen_task
{
    virtual ~netgen_task() {}
    virtual void run(unsigned blocks, unsigned threads) = 0;
    virtual int pointers(const void** out) const = 0;  // the pointer arguments, for the device-memory check
    virtual const char* name() const = 0;
};
using Bind = netgen_task* (*)(void**);

namespace
{
constexpr int CaptureUnsupported = 900;  // cudaErrorStreamCaptureUnsupported
constexpr int InvalidValue = 1;          // cudaErrorInvalidValue / CUDA_ERROR_INVALID_VALUE
constexpr int NotFound = 500;            // CUDA_ERROR_NOT_FOUND / cudaErrorSymbolNotFound

using Work = std::function<void()>;
using Graph = std::vector<Work>;

struct Stream
{
    Graph* capture = nullptr;  // non-null while capturing
};

Stream g_legacy;         // stream 0
int g_capturing = 0;     // streams being captured right now
std::map<const char*, size_t> g_allocations;  // cudaMalloc'ed blocks: start -> bytes

// The allocation holding [pointer, pointer + bytes), or false: the fake holds host code to what a GPU would allow
// (a host pointer handed to a kernel, or a copy past the end of a buffer, fails here instead of working by chance).
bool IsDevice(const void* pointer, size_t bytes)
{
    const char* p = static_cast<const char*>(pointer);
    auto it = g_allocations.upper_bound(p);
    if (it == g_allocations.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

int Reject(const char* call, const char* what)
{
    std::fprintf(stderr, "fake CUDA: %s: %s\n", call, what);
    return InvalidValue;
}

// cudaMemcpyKind: 1 host to device, 2 device to host, 3 device to device; both ends checked against the allocations.
int CheckCopy(const char* call, void* destination, const void* source, size_t bytes, int kind)
{
    bool toDevice = kind == 1 || kind == 3, fromDevice = kind == 2 || kind == 3;
    if (kind < 1 || kind > 3) return Reject(call, "the fake supports only host-to-device, device-to-host and device-to-device copies");
    if (toDevice != IsDevice(destination, bytes)) return Reject(call, toDevice ? "destination range is not device memory" : "destination is device memory");
    if (fromDevice != IsDevice(source, bytes)) return Reject(call, fromDevice ? "source range is not device memory" : "source is device memory");
    return 0;
}

Stream* StreamOf(void* handle) { return handle ? static_cast<Stream*>(handle) : &g_legacy; }


std::string Quote(const std::string& path) { return "'" + path + "'"; }
}  // namespace

void netgen_fake_enqueue(void* stream, std::function<void()> work)
{
    Stream* s = StreamOf(stream);
    if (s->capture) s->capture->push_back(std::move(work));
    else work();
}

// ====================================================================== driver

EXPORT int cuInit(unsigned) { return 0; }
EXPORT int cuDriverGetVersion(int* version) { *version = 13000; return 0; }
EXPORT int cuDeviceGet(int* device, int ordinal) { if (ordinal != 0) return InvalidValue; *device = 0; return 0; }
EXPORT int cuDeviceGetName(char* name, int length, int)
{
    std::snprintf(name, (size_t)length, "%s", "NetGen fake CUDA device (CPU)");
    return 0;
}
EXPORT int cuGetErrorString(int status, const char** text)
{
    *text = status == CaptureUnsupported ? "operation not permitted when stream is capturing (fake device)" : "fake device error";
    return 0;
}

EXPORT int cuModuleLoadData(void** module, const void* image)
{
    if (g_capturing) return CaptureUnsupported;
    const char* text = static_cast<const char*>(image);
    const char prefix[] = "NETGEN-FAKE-CUBIN:";
    if (std::strncmp(text, prefix, sizeof prefix - 1) != 0) return InvalidValue;
    void* library = dlopen(text + sizeof prefix - 1, RTLD_NOW | RTLD_LOCAL);
    if (!library)
    {
        std::fprintf(stderr, "fake CUDA: %s\n", dlerror());
        return NotFound;
    }
    *module = library;
    return 0;
}

EXPORT int cuModuleUnload(void* module) { return dlclose(module) == 0 ? 0 : InvalidValue; }

EXPORT int cuModuleGetFunction(void** function, void* module, const char* name)
{
    if (g_capturing) return CaptureUnsupported;  // lazy loading: a lookup may load the kernel, not allowed in a capture
    void* bind = dlsym(module, ("netgen_bind_" + std::string(name)).c_str());
    if (!bind) return NotFound;
    *function = bind;
    return 0;
}

EXPORT int cuLaunchKernel(void* function, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned blockX, unsigned blockY, unsigned blockZ,
    unsigned sharedBytes, void* stream, void** parameters, void** extra)
{
    if (gridY != 1 || gridZ != 1 || blockY != 1 || blockZ != 1 || sharedBytes != 0 || extra != nullptr || gridX == 0 || blockX == 0)
        return InvalidValue;  // NetGen launches one-dimensional grids only
    std::shared_ptr<netgen_task> task(reinterpret_cast<Bind>(function)(parameters));  // the arguments, copied now
    const void* pointers[64];
    int count = task->pointers(pointers);
    for (int i = 0; i < count; i++)
        if (pointers[i] && !IsDevice(pointers[i], 1))
        {
            std::fprintf(stderr, "fake CUDA: cuLaunchKernel(%s): pointer argument %d (%p) is not device memory\n", task->name(), i, pointers[i]);
            return InvalidValue;
        }
    netgen_fake_enqueue(stream, [task, gridX, blockX] { task->run(gridX, blockX); });
    return 0;
}

// ====================================================================== runtime

EXPORT int cudaRuntimeGetVersion(int* version) { *version = 13000; return 0; }
EXPORT int cudaGetDeviceCount(int* count) { *count = 1; return 0; }
EXPORT int cudaSetDevice(int device) { return device == 0 ? 0 : InvalidValue; }
EXPORT int cudaDeviceGetAttribute(int* value, int attribute, int)
{
    *value = attribute == 75 ? 9 : attribute == 76 ? 0 : attribute == 16 ? 1 : 0;  // sm_90, one multiprocessor
    return 0;
}
EXPORT int cudaMemGetInfo(size_t* free, size_t* total) { *free = *total = (size_t)16 << 30; return 0; }

EXPORT int cudaMalloc(void** pointer, size_t bytes)
{
    if (g_capturing) return CaptureUnsupported;
    size_t rounded = (bytes + 255) / 256 * 256;
    void* memory = std::aligned_alloc(256, rounded == 0 ? 256 : rounded);
    if (!memory) return 2;  // cudaErrorMemoryAllocation
    std::memset(memory, 0xFF, rounded == 0 ? 256 : rounded);  // NaN: memory nobody wrote reads as NaN
    g_allocations[static_cast<const char*>(memory)] = bytes;
    *pointer = memory;
    return 0;
}

EXPORT int cudaFree(void* pointer)
{
    if (g_capturing) return CaptureUnsupported;
    if (!pointer) return 0;
    if (!g_allocations.erase(static_cast<const char*>(pointer))) return Reject("cudaFree", "not an allocation");
    std::free(pointer);
    return 0;
}

EXPORT int cudaMemcpy(void* destination, const void* source, size_t bytes, int kind)
{
    if (g_capturing) return CaptureUnsupported;
    if (int status = CheckCopy("cudaMemcpy", destination, source, bytes, kind)) return status;
    std::memcpy(destination, source, bytes);
    return 0;
}

EXPORT int cudaMemset(void* pointer, int value, size_t bytes)
{
    if (g_capturing) return CaptureUnsupported;
    if (!IsDevice(pointer, bytes)) return Reject("cudaMemset", "range is not device memory");
    std::memset(pointer, value, bytes);
    return 0;
}

EXPORT int cudaDeviceSynchronize() { return g_capturing ? CaptureUnsupported : 0; }

EXPORT int cudaStreamCreate(void** stream) { *stream = new Stream(); return 0; }
EXPORT int cudaStreamCreateWithFlags(void** stream, unsigned) { *stream = new Stream(); return 0; }
EXPORT int cudaStreamDestroy(void* stream)
{
    if (stream) delete static_cast<Stream*>(stream);
    return 0;
}
EXPORT int cudaStreamSynchronize(void* stream) { return StreamOf(stream)->capture || g_capturing ? CaptureUnsupported : 0; }

EXPORT int cudaEventCreate(void** event) { *event = new double(0.0); return 0; }
EXPORT int cudaEventDestroy(void* event) { delete static_cast<double*>(event); return 0; }
EXPORT int cudaEventRecord(void* event, void* stream)
{
    double* time = static_cast<double*>(event);
    netgen_fake_enqueue(stream, [time] {
        *time = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    });
    return 0;
}
EXPORT int cudaEventSynchronize(void*) { return g_capturing ? CaptureUnsupported : 0; }
EXPORT int cudaEventElapsedTime(float* milliseconds, void* start, void* end)
{
    *milliseconds = (float)(*static_cast<double*>(end) - *static_cast<double*>(start));
    return 0;
}


EXPORT int cudaMemcpyAsync(void* destination, const void* source, size_t bytes, int kind, void* stream)
{
    if (int status = CheckCopy("cudaMemcpyAsync", destination, source, bytes, kind)) return status;
    // A captured copy from or to pageable host memory would read or write the host buffer at replay time, long after
    // the caller's span is gone; NetGen copies only outside its graphs, and the fake holds it to that.
    if (StreamOf(stream)->capture && kind != 3) return CaptureUnsupported;
    netgen_fake_enqueue(stream, [=] { std::memcpy(destination, source, bytes); });
    return 0;
}

EXPORT int cudaMemsetAsync(void* pointer, int value, size_t bytes, void* stream)
{
    if (!IsDevice(pointer, bytes)) return Reject("cudaMemsetAsync", "range is not device memory");
    netgen_fake_enqueue(stream, [=] { std::memset(pointer, value, bytes); });
    return 0;
}

EXPORT int cudaStreamBeginCapture(void* stream, int)
{
    Stream* s = StreamOf(stream);
    if (s == &g_legacy || s->capture) return CaptureUnsupported;  // the legacy stream cannot be captured
    s->capture = new Graph();
    g_capturing++;
    return 0;
}

EXPORT int cudaStreamEndCapture(void* stream, void** graph)
{
    Stream* s = StreamOf(stream);
    if (!s->capture) return InvalidValue;
    *graph = s->capture;
    s->capture = nullptr;
    g_capturing--;
    return 0;
}

EXPORT int cudaGraphInstantiate(void** exec, void* graph, unsigned long long)
{
    *exec = new Graph(*static_cast<Graph*>(graph));
    return 0;
}

EXPORT int cudaGraphLaunch(void* exec, void* stream)
{
    for (const Work& work : *static_cast<Graph*>(exec)) netgen_fake_enqueue(stream, work);
    return 0;
}

EXPORT int cudaGraphExecDestroy(void* exec) { delete static_cast<Graph*>(exec); return 0; }
EXPORT int cudaGraphDestroy(void* graph) { delete static_cast<Graph*>(graph); return 0; }
EXPORT const char* cudaGetErrorString(int status)
{
    return status == CaptureUnsupported ? "operation not permitted when stream is capturing (fake device)" : "fake device error";
}

// ====================================================================== cuBLAS

namespace
{
struct Blas
{
    void* stream = nullptr;
    int mathMode = 0;  // cublasMath_t: 3 is CUBLAS_TF32_TENSOR_OP_MATH
};
}  // namespace

EXPORT int cublasCreate_v2(void** handle) { *handle = new Blas(); return 0; }
EXPORT int cublasDestroy_v2(void* handle) { delete static_cast<Blas*>(handle); return 0; }
EXPORT int cublasGetVersion_v2(void*, int* version) { *version = 130000; return 0; }
EXPORT int cublasSetStream_v2(void* handle, void* stream) { static_cast<Blas*>(handle)->stream = stream; return 0; }
EXPORT int cublasSetMathMode(void* handle, int mode) { static_cast<Blas*>(handle)->mathMode = mode; return 0; }
EXPORT int cublasSetWorkspace_v2(void*, void*, size_t) { return 0; }
EXPORT const char* cublasGetStatusString(int) { return "fake cuBLAS error"; }

// C[m x n] = alpha op(A) op(B) + beta C, column-major; C is not read when beta is 0 (cuBLAS's rule).
EXPORT int cublasSgemm_v2(void* handle, int transA, int transB, int m, int n, int k, const float* alphaPointer, const float* a, int lda,
    const float* b, int ldb, const float* betaPointer, float* c, int ldc)
{
    if (m < 0 || n < 0 || k < 0 || transA > 1 || transB > 1) return 7;  // CUBLAS_STATUS_INVALID_VALUE
    if (lda < (transA ? k : m) || ldb < (transB ? n : k) || ldc < m) return 7;
    // every element each operand's leading dimension reaches must be device memory
    auto extent = [](int rows, int cols, int ld) { return cols == 0 || rows == 0 ? (size_t)0 : ((size_t)(cols - 1) * ld + rows) * sizeof(float); };
    if ((m && n && k) && (!IsDevice(a, extent(transA ? k : m, transA ? m : k, lda)) || !IsDevice(b, extent(transB ? n : k, transB ? k : n, ldb))))
        return Reject("cublasSgemm", "A or B is not (wholly) device memory");
    if (m && n && !IsDevice(c, extent(m, n, ldc))) return Reject("cublasSgemm", "C is not (wholly) device memory");
    float alpha = *alphaPointer, beta = *betaPointer;  // host scalars: read now
    bool tf32 = static_cast<Blas*>(handle)->mathMode == 3;
    netgen_fake_enqueue(static_cast<Blas*>(handle)->stream, [=] {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double sum = 0.0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p + (long long)i * lda] : a[i + (long long)p * lda];
                    float bv = transB ? b[j + (long long)p * ldb] : b[p + (long long)j * ldb];
                    if (tf32) { av = netgen_fake_tf32(av); bv = netgen_fake_tf32(bv); }
                    sum += (double)av * bv;
                }
                float& out = c[i + (long long)j * ldc];
                out = beta == 0.0f ? (float)(alpha * sum) : (float)(alpha * sum + (double)beta * out);
            }
    });
    return 0;
}

// ====================================================================== NVRTC

namespace
{
struct Program
{
    std::string source, name, log, cubin;
    bool ptx = false;  // compiled for a virtual architecture (compute_XY): PTX only, no CUBIN
};

// The architectures the fake NVRTC compiles for: NETGEN_FAKE_NVRTC_ARCHS ("75,80"), else a CUDA 13-like list that
// holds the fake device's sm_90. A shorter list makes the device newer (or older) than this NVRTC knows.
std::vector<int> SupportedArchs()
{
    std::vector<int> list;
    const char* text = std::getenv("NETGEN_FAKE_NVRTC_ARCHS");
    std::stringstream items(text && *text ? text : "75,80,86,87,89,90,100,120");
    std::string item;
    while (std::getline(items, item, ',')) list.push_back(std::atoi(item.c_str()));
    return list;
}

// One binder per kernel: copies the arguments out of cuLaunchKernel's array into a Task whose run() executes every
// thread of the grid.
std::string Launchers(const std::string& source)
{
    std::ostringstream out;
    std::regex kernel(R"(extern "C" __global__ void (\w+)\(([^)]*)\))");
    for (auto it = std::sregex_iterator(source.begin(), source.end(), kernel); it != std::sregex_iterator(); ++it)
    {
        std::string name = (*it)[1], list = (*it)[2];
        std::vector<std::string> types;
        std::stringstream parameters(list);
        std::string parameter;
        std::regex split(R"(^\s*(.*?)\s*\b(\w+)\s*$)");
        while (std::getline(parameters, parameter, ','))
        {
            std::smatch parts;
            if (std::regex_match(parameter, parts, split)) types.push_back(parts[1]);
        }
        out << "extern \"C\" netgen_task* netgen_bind_" << name << "(void** a)\n{\n    struct T final : netgen_task\n    {\n";
        for (size_t i = 0; i < types.size(); i++) out << "        " << types[i] << " p" << i << ";\n";
        out << "        const char* name() const override { return \"" << name << "\"; }\n";
        out << "        int pointers(const void** out) const override\n        {\n            int n = 0;\n";
        for (size_t i = 0; i < types.size(); i++)
            if (types[i].back() == '*') out << "            out[n++] = (const void*)p" << i << ";\n";
        out << "            return n;\n        }\n";
        out << "        void run(unsigned blocks, unsigned threads) override\n        {\n"
            << "            for (unsigned b = 0; b < blocks; b++)\n                for (unsigned t = 0; t < threads; t++)\n"
            << "                {\n                    netgen_set_thread(b, t, blocks, threads);\n                    " << name << "(";
        for (size_t i = 0; i < types.size(); i++) out << (i ? ", " : "") << "p" << i;
        out << ");\n                }\n        }\n    };\n    T* t = new T();\n";
        for (size_t i = 0; i < types.size(); i++) out << "    t->p" << i << " = *(" << types[i] << "*)a[" << i << "];\n";
        out << "    return t;\n}\n";
    }
    return out.str();
}

const char* Shim = R"(// NetGen fake device: the kernels of one "module", compiled for the CPU.
#include <math.h>
struct netgen_task
{
    virtual ~netgen_task() {}
    virtual void run(unsigned blocks, unsigned threads) = 0;
    virtual int pointers(const void** out) const = 0;
    virtual const char* name() const = 0;
};
struct netgen_dim3 { unsigned int x, y, z; };
static netgen_dim3 blockIdx, threadIdx, blockDim, gridDim;
static void netgen_set_thread(unsigned block, unsigned thread, unsigned blocks, unsigned threads)
{
    blockIdx = { block, 0, 0 }; threadIdx = { thread, 0, 0 }; gridDim = { blocks, 1, 1 }; blockDim = { threads, 1, 1 };
}
#define __global__
#define __device__
#include "kernels.cu"
#include "launchers.cpp"
)";

std::string WorkFolder()
{
    static std::string folder;
    if (folder.empty())
    {
        const char* root = std::getenv("NETGEN_FAKE_CUDA_WORK");
        std::string pattern = std::string(root && *root ? root : "/tmp") + "/netgen-fake-nvrtc-XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (mkdtemp(buffer.data())) folder = buffer.data();
    }
    return folder;
}
// With NETGEN_FAKE_NVRTC_CLANG (a clang with the NVPTX target) and NETGEN_FAKE_NVRTC_COMPILE_DEVICE (tests/FakeCuda/
// compile-device.sh) set, as run.sh sets them: compiles BASE.kernels.cu as CUDA device code against only what NVRTC
// declares without headers. The g++ build below defines __device__ away and includes math.h, so it would accept a
// kernel that calls a host function or uses INFINITY; this does not. Returns false with clang's log on an error.
bool DeviceCompile(const std::string& base, std::string& log)
{
    const char* clang = std::getenv("NETGEN_FAKE_NVRTC_CLANG");
    const char* script = std::getenv("NETGEN_FAKE_NVRTC_COMPILE_DEVICE");
    if (!clang || !*clang || !script || !*script) return true;
    std::string command = "bash " + Quote(script) + " " + Quote(clang) + " " + Quote(base + ".kernels.cu") + " " +
                          Quote(base + ".ptx") + " > " + Quote(base + ".device.log") + " 2>&1";
    if (std::system(command.c_str()) == 0) return true;
    std::ifstream text(base + ".device.log");
    log = "fake NVRTC: the kernels do not compile as CUDA device code (clang, NVRTC's built-in declarations only):\n" +
          std::string((std::istreambuf_iterator<char>(text)), std::istreambuf_iterator<char>());
    return false;
}
}  // namespace

EXPORT int nvrtcVersion(int* major, int* minor) { *major = 99; *minor = 0; return 0; }  // never a real version: no cache clash
EXPORT const char* nvrtcGetErrorString(int status) { return status == 6 ? "NVRTC_ERROR_COMPILATION (fake: g++)" : "fake NVRTC error"; }

EXPORT int nvrtcCreateProgram(void** program, const char* source, const char* name, int headers, const char* const*, const char* const*)
{
    if (headers != 0) return 3;  // NVRTC_ERROR_INVALID_INPUT
    *program = new Program{ source, name ? name : "kernels.cu", "", "" };
    return 0;
}

EXPORT int nvrtcDestroyProgram(void** program)
{
    delete static_cast<Program*>(*program);
    *program = nullptr;
    return 0;
}

EXPORT int nvrtcCompileProgram(void* handle, int optionCount, const char* const* options)
{
    Program* program = static_cast<Program*>(handle);
    bool fmadOff = false;
    for (int i = 0; i < optionCount; i++)
    {
        fmadOff |= std::strcmp(options[i], "--fmad=false") == 0;
        // --gpu-architecture=sm_XY (real: CUBIN) or compute_XY (virtual: PTX only); like NVRTC, an architecture it
        // does not know is NVRTC_ERROR_INVALID_OPTION.
        int architecture = 0;
        char kind[8] = {};
        if (std::sscanf(options[i], "--gpu-architecture=%7[a-z]_%d", kind, &architecture) == 2)
        {
            std::vector<int> supported = SupportedArchs();
            if (std::find(supported.begin(), supported.end(), architecture) == supported.end()) { program->log = std::string("nvrtc: error: invalid value for --gpu-architecture (-arch)\n"); return 5; }
            program->ptx = std::strcmp(kind, "compute") == 0;
        }
    }
    static int counter = 0;
    std::string folder = WorkFolder();
    if (folder.empty()) { program->log = "fake NVRTC: cannot create a work folder"; return 6; }
    std::string base = folder + "/module" + std::to_string(++counter);
    std::ofstream(base + ".kernels.cu") << program->source;
    // First as device code, as NVRTC would (DeviceCompile): a kernel only a real NVRTC would reject fails here too.
    if (!DeviceCompile(base, program->log)) return 6;  // NVRTC_ERROR_COMPILATION
    std::ofstream(base + ".launchers.cpp") << Launchers(program->source);
    std::string shim = Shim;
    shim.replace(shim.find("\"kernels.cu\""), 12, "\"" + base + ".kernels.cu\"");
    shim.replace(shim.find("\"launchers.cpp\""), 15, "\"" + base + ".launchers.cpp\"");
    std::ofstream(base + ".cpp") << shim;
    std::string command = "g++ -std=c++17 -O1 -fno-fast-math -shared -fPIC -Wall -Werror " + std::string(fmadOff ? "-ffp-contract=off " : "") +
                          Quote(base + ".cpp") + " -o " + Quote(base + ".so") + " > " + Quote(base + ".log") + " 2>&1";
    int status = std::system(command.c_str());
    std::ifstream log(base + ".log");
    program->log = std::string((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (status != 0) return 6;  // NVRTC_ERROR_COMPILATION
    program->cubin = "NETGEN-FAKE-CUBIN:" + base + ".so";
    program->cubin.push_back('\0');
    return 0;
}

EXPORT int nvrtcGetProgramLogSize(void* program, size_t* bytes) { *bytes = static_cast<Program*>(program)->log.size() + 1; return 0; }
EXPORT int nvrtcGetProgramLog(void* program, char* log)
{
    const std::string& text = static_cast<Program*>(program)->log;
    std::memcpy(log, text.c_str(), text.size() + 1);
    return 0;
}
EXPORT int nvrtcGetNumSupportedArchs(int* count) { *count = static_cast<int>(SupportedArchs().size()); return 0; }
EXPORT int nvrtcGetSupportedArchs(int* architectures)
{
    std::vector<int> list = SupportedArchs();
    std::copy(list.begin(), list.end(), architectures);
    return 0;
}
// The fake's "PTX" is the same marker as its CUBIN (cuModuleLoadData opens the shared object it names); a program
// compiled for a virtual architecture has PTX only, as with NVRTC.
EXPORT int nvrtcGetPTXSize(void* program, size_t* bytes) { *bytes = static_cast<Program*>(program)->cubin.size(); return 0; }
EXPORT int nvrtcGetPTX(void* program, char* ptx)
{
    const std::string& image = static_cast<Program*>(program)->cubin;
    std::memcpy(ptx, image.data(), image.size());
    return 0;
}
EXPORT int nvrtcGetCUBINSize(void* handle, size_t* bytes)
{
    Program* program = static_cast<Program*>(handle);
    if (program->ptx) return 3;  // NVRTC_ERROR_INVALID_INPUT: no CUBIN for a virtual architecture
    *bytes = program->cubin.size();
    return 0;
}
EXPORT int nvrtcGetCUBIN(void* program, char* cubin) { return nvrtcGetPTX(program, cubin); }
