// What NVRTC gives a program that #includes nothing, for compiling NetGen's generated CUDA C as device code with
// clang (compile-device.sh). NetGen hands NVRTC its kernels with no headers (CudaModule.RunNvrtc), so a kernel may
// use only what NVRTC declares implicitly:
//   - the built-in variables threadIdx, blockIdx, blockDim, gridDim (and warpSize);
//   - the __global__ / __device__ / __host__ / __forceinline__ specifiers;
//   - the CUDA Math API (single and double precision, the float intrinsics, integer min / max / abs).
// Not included, because NVRTC does not declare them without a header: the C library's macros (INFINITY, NAN,
// FLT_MAX, ...), printf, <cstdint>'s fixed-width types, anything in std::. A kernel that uses one of them fails here
// with clang's "use of undeclared identifier", as it would fail on a GPU machine at the first nvrtcCompileProgram.
// Every function here is declared __device__ only, so calling a host function from a kernel fails too.
//
// Included by compile-device.sh, which CudaDeviceCompileTests and the fake NVRTC (fake_core.cpp) run.
#pragma once

#include <__clang_cuda_builtin_vars.h>

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __forceinline__ __inline__ __attribute__((always_inline))

// ---- CUDA Math API, single precision
extern "C" {
__device__ float acosf(float);
__device__ float acoshf(float);
__device__ float asinf(float);
__device__ float asinhf(float);
__device__ float atan2f(float, float);
__device__ float atanf(float);
__device__ float atanhf(float);
__device__ float cbrtf(float);
__device__ float ceilf(float);
__device__ float copysignf(float, float);
__device__ float cosf(float);
__device__ float coshf(float);
__device__ float erfcf(float);
__device__ float erff(float);
__device__ float exp10f(float);
__device__ float exp2f(float);
__device__ float expf(float);
__device__ float expm1f(float);
__device__ float fabsf(float);
__device__ float fdimf(float, float);
__device__ float fdividef(float, float);
__device__ float floorf(float);
__device__ float fmaf(float, float, float);
__device__ float fmaxf(float, float);
__device__ float fminf(float, float);
__device__ float fmodf(float, float);
__device__ float hypotf(float, float);
__device__ float lgammaf(float);
__device__ float log10f(float);
__device__ float log1pf(float);
__device__ float log2f(float);
__device__ float logf(float);
__device__ long lroundf(float);
__device__ float nearbyintf(float);
__device__ float powf(float, float);
__device__ float remainderf(float, float);
__device__ float rintf(float);
__device__ float roundf(float);
__device__ float rsqrtf(float);
__device__ float sinf(float);
__device__ float sinhf(float);
__device__ float sqrtf(float);
__device__ float tanf(float);
__device__ float tanhf(float);
__device__ float tgammaf(float);
__device__ float truncf(float);
__device__ void sincosf(float, float*, float*);

// ---- CUDA Math API, double precision
__device__ double acos(double);
__device__ double asin(double);
__device__ double atan(double);
__device__ double atan2(double, double);
__device__ double cbrt(double);
__device__ double ceil(double);
__device__ double copysign(double, double);
__device__ double cos(double);
__device__ double cosh(double);
__device__ double erf(double);
__device__ double erfc(double);
__device__ double exp(double);
__device__ double exp2(double);
__device__ double expm1(double);
__device__ double fabs(double);
__device__ double floor(double);
__device__ double fma(double, double, double);
__device__ double fmax(double, double);
__device__ double fmin(double, double);
__device__ double fmod(double, double);
__device__ double hypot(double, double);
__device__ double log(double);
__device__ double log10(double);
__device__ double log1p(double);
__device__ double log2(double);
__device__ double pow(double, double);
__device__ double rint(double);
__device__ double round(double);
__device__ double rsqrt(double);
__device__ double sin(double);
__device__ double sinh(double);
__device__ double sqrt(double);
__device__ double tan(double);
__device__ double tanh(double);
__device__ double trunc(double);

// ---- Single precision intrinsics and type casts
__device__ float __expf(float);
__device__ float __logf(float);
__device__ float __powf(float, float);
__device__ float __fdividef(float, float);
__device__ float __frcp_rn(float);
__device__ float __fsqrt_rn(float);
__device__ float __fadd_rn(float, float);
__device__ float __fmul_rn(float, float);
__device__ float __fmaf_rn(float, float, float);
__device__ float __saturatef(float);
__device__ int __float_as_int(float);
__device__ float __int_as_float(int);
__device__ unsigned int __float_as_uint(float);
__device__ float __uint_as_float(unsigned int);
__device__ int __float2int_rn(float);
__device__ int __float2int_rz(float);
__device__ float __int2float_rn(int);
__device__ int isnan(double);
__device__ int isinf(double);
__device__ int isfinite(double);
__device__ int signbit(double);
}

// ---- C++ overloads CUDA declares for device code: the float forms of the unsuffixed functions, min / max / abs
__device__ float exp(float);
__device__ float log(float);
__device__ float sqrt(float);
__device__ float tanh(float);
__device__ float fabs(float);
__device__ float floor(float);
__device__ float ceil(float);
__device__ float pow(float, float);
__device__ float fmax(float, float);
__device__ float fmin(float, float);
__device__ int min(int, int);
__device__ unsigned int min(unsigned int, unsigned int);
__device__ long long min(long long, long long);
__device__ float min(float, float);
__device__ double min(double, double);
__device__ int max(int, int);
__device__ unsigned int max(unsigned int, unsigned int);
__device__ long long max(long long, long long);
__device__ float max(float, float);
__device__ double max(double, double);
__device__ int abs(int);
__device__ long long llabs(long long);
