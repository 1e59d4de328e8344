using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace NetGen.Generator.Emit;

/// <summary>
/// The CUDA C the generator emits for the elementwise work cuDNN and cuBLAS do not do: activations, bias, residual
/// sums, loss gradients and optimizer updates. Each network's source holds only the kernels it launches, in a fixed
/// order, so the source (and the NVRTC cache key) changes only when the network does. Every kernel is a grid-stride
/// loop in which each index is independent: no shared memory and no synchronisation, which also lets the tests run
/// the very same source on the CPU (compiled by g++ with a small shim) against the CPU kernels.
/// </summary>
internal static class CudaKernels
{
    /// <summary>Kernels every trainable network needs: the losses and the optimizers.</summary>
    public static readonly string[] Training =
    {
        "netgen_softmax_xent_labels", "netgen_softmax_xent_targets", "netgen_mse", "netgen_bce_logits", "netgen_l1", "netgen_mean_rows", "netgen_sgd", "netgen_adam",
    };

    private static readonly Dictionary<string, string> s_sources = new()
    {
        ["netgen_tanh_forward"] = """
            extern "C" __global__ void netgen_tanh_forward(float* y, const float* x, int n)
            {
                NETGEN_LOOP(i, n) y[i] = tanhf(x[i]);
            }
            """,
        ["netgen_tanh_backward"] = """
            extern "C" __global__ void netgen_tanh_backward(float* dx, const float* dy, const float* y, int n, int accumulate)
            {
                NETGEN_LOOP(i, n)
                {
                    float g = dy[i] * (1.0f - y[i] * y[i]);
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_relu_forward"] = """
            extern "C" __global__ void netgen_relu_forward(float* y, const float* x, int n)
            {
                NETGEN_LOOP(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
            }
            """,
        ["netgen_relu_backward"] = """
            extern "C" __global__ void netgen_relu_backward(float* dx, const float* dy, const float* y, int n, int accumulate)
            {
                NETGEN_LOOP(i, n)
                {
                    float g = y[i] > 0.0f ? dy[i] : 0.0f;
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_sigmoid_forward"] = """
            extern "C" __global__ void netgen_sigmoid_forward(float* y, const float* x, int n)
            {
                NETGEN_LOOP(i, n) y[i] = 1.0f / (1.0f + expf(-x[i]));
            }
            """,
        ["netgen_sigmoid_backward"] = """
            extern "C" __global__ void netgen_sigmoid_backward(float* dx, const float* dy, const float* y, int n, int accumulate)
            {
                NETGEN_LOOP(i, n)
                {
                    float g = dy[i] * y[i] * (1.0f - y[i]);
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_leaky_relu_forward"] = """
            extern "C" __global__ void netgen_leaky_relu_forward(float* y, const float* x, int n, float slope)
            {
                NETGEN_LOOP(i, n) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
            }
            """,
        ["netgen_leaky_relu_backward"] = """
            extern "C" __global__ void netgen_leaky_relu_backward(float* dx, const float* dy, const float* x, int n, float slope, int accumulate)
            {
                NETGEN_LOOP(i, n)
                {
                    float g = x[i] > 0.0f ? dy[i] : slope * dy[i];
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_add_forward"] = """
            extern "C" __global__ void netgen_add_forward(float* y, const float* a, const float* b, int n)
            {
                NETGEN_LOOP(i, n) y[i] = a[i] + b[i];
            }
            """,
        ["netgen_copy_or_add"] = """
            extern "C" __global__ void netgen_copy_or_add(float* destination, const float* source, int n, int accumulate)
            {
                NETGEN_LOOP(i, n) destination[i] = accumulate ? destination[i] + source[i] : source[i];
            }
            """,
        ["netgen_dropout_forward"] = """
            // Inverted dropout with NetGen.Cpu.Dropout's counter-based mask: element i is kept when the top 24 bits of
            // SplitMix64's finalizer of key + (i + 1) * golden gamma, as a float in [0, 1), are >= p; keys[k] is this call's key.
            extern "C" __global__ void netgen_dropout_forward(float* y, float* mask, const float* x, const unsigned long long* keys, int k, int n, float p)
            {
                unsigned long long key = keys[k];
                float scale = 1.0f / (1.0f - p);
                NETGEN_LOOP(i, n)
                {
                    unsigned long long z = key + (unsigned long long)(unsigned int)(i + 1) * 0x9E3779B97F4A7C15ULL;
                    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
                    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
                    z ^= z >> 31;
                    float u = (float)(unsigned int)(z >> 40) * (1.0f / 16777216.0f);
                    float m = u >= p ? scale : 0.0f;
                    mask[i] = m;
                    y[i] = x[i] * m;
                }
            }
            """,
        ["netgen_multiply_backward"] = """
            // dx (=|+=) dy * other: Dropout's backward with other = its mask.
            extern "C" __global__ void netgen_multiply_backward(float* dx, const float* dy, const float* other, int n, int accumulate)
            {
                NETGEN_LOOP(i, n)
                {
                    float g = dy[i] * other[i];
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_pool_helpers"] = """
            // A max-pooling window along one axis, clipped to the input (padding, ceil mode): [o*s - pad, o*s - pad + k) in [0, size).
            static inline __device__ void netgen_pool_window(int o, int k, int s, int pad, int size, int* lo, int* hi)
            {
                int start = o * s - pad, end = start + k;
                *lo = start > 0 ? start : 0;
                *hi = end < size ? end : size;
            }

            // The first maximum of window (oy, ox) of a plane, row by row with "v > m", as NetGen.Cpu.Pool2d: its index.
            static inline __device__ int netgen_pool_argmax(const float* plane, int oy, int ox, int inH, int inW, int k, int s, int pad)
            {
                int y0, y1, x0, x1;
                netgen_pool_window(oy, k, s, pad, inH, &y0, &y1);
                netgen_pool_window(ox, k, s, pad, inW, &x0, &x1);
                int best = y0 * inW + x0;
                float m = plane[best];
                for (int wy = y0; wy < y1; wy++)
                    for (int wx = x0; wx < x1; wx++)
                    {
                        float v = plane[wy * inW + wx];
                        if (v > m) { m = v; best = wy * inW + wx; }
                    }
                return best;
            }

            // AdaptiveAvgPool2d's bin along one axis, as NetGen.Cpu.AdaptivePool2d: [floor(o*in/out), ceil((o+1)*in/out)).
            static inline __device__ void netgen_pool_bin(int o, int in, int out, int* lo, int* hi)
            {
                *lo = (int)((long long)o * in / out);
                *hi = (int)(((long long)(o + 1) * in + out - 1) / out);
            }
            """,
        ["netgen_max_pool_forward"] = """
            // y[p, oy, ox] = the first maximum of the window clipped to the input (padding and ceil mode), as NetGen.Cpu.Pool2d.
            extern "C" __global__ void netgen_max_pool_forward(float* y, const float* x, int planes, int inH, int inW, int outH, int outW, int k, int s, int pad)
            {
                NETGEN_LOOP(i, planes * outH * outW)
                {
                    int ox = i % outW, oy = (i / outW) % outH, p = i / (outW * outH);
                    const float* plane = x + (long long)p * inH * inW;
                    y[i] = plane[netgen_pool_argmax(plane, oy, ox, inH, inW, k, s, pad)];
                }
            }
            """,
        ["netgen_max_pool_backward"] = """
            // dx (=|+=) the dy of every window whose first maximum is this element, windows in row-major order: one
            // thread per input element gathers what NetGen.Cpu.Pool2d.MaxBackward scatters, adding in the same order.
            extern "C" __global__ void netgen_max_pool_backward(float* dx, const float* dy, const float* x, int planes, int inH, int inW, int outH, int outW, int k, int s, int pad, int accumulate)
            {
                NETGEN_LOOP(i, planes * inH * inW)
                {
                    int ix = i % inW, iy = (i / inW) % inH, p = i / (inW * inH);
                    const float* plane = x + (long long)p * inH * inW;
                    const float* g = dy + (long long)p * outH * outW;
                    float acc = accumulate ? dx[i] : 0.0f;
                    // the windows that hold (iy, ix): oy * s - pad <= iy < oy * s - pad + k
                    int oy0 = iy + pad - k + 1, ox0 = ix + pad - k + 1;
                    oy0 = oy0 <= 0 ? 0 : (oy0 + s - 1) / s;
                    ox0 = ox0 <= 0 ? 0 : (ox0 + s - 1) / s;
                    int oy1 = (iy + pad) / s, ox1 = (ix + pad) / s;
                    oy1 = oy1 < outH - 1 ? oy1 : outH - 1;
                    ox1 = ox1 < outW - 1 ? ox1 : outW - 1;
                    for (int oy = oy0; oy <= oy1; oy++)
                        for (int ox = ox0; ox <= ox1; ox++)
                            if (netgen_pool_argmax(plane, oy, ox, inH, inW, k, s, pad) == iy * inW + ix) acc += g[oy * outW + ox];
                    dx[i] = acc;
                }
            }
            """,
        ["netgen_avg_pool_forward"] = """
            // y[p, oy, ox] = (sum of the k x k window, row by row from 0) * (1 / k^2), as NetGen.Cpu.Pool2d (no padding).
            extern "C" __global__ void netgen_avg_pool_forward(float* y, const float* x, int planes, int inH, int inW, int outH, int outW, int k, int s)
            {
                float scale = 1.0f / (k * k);
                NETGEN_LOOP(i, planes * outH * outW)
                {
                    int ox = i % outW, oy = (i / outW) % outH, p = i / (outW * outH);
                    const float* row = x + (long long)p * inH * inW + (oy * s) * inW + ox * s;
                    float sum = 0.0f;
                    for (int ky = 0; ky < k; ky++, row += inW)
                        for (int kx = 0; kx < k; kx++) sum += row[kx];
                    y[i] = sum * scale;
                }
            }
            """,
        ["netgen_avg_pool_backward"] = """
            // dx (=|+=) dy * (1 / k^2) of every window that holds this element, windows in row-major order.
            extern "C" __global__ void netgen_avg_pool_backward(float* dx, const float* dy, int planes, int inH, int inW, int outH, int outW, int k, int s, int accumulate)
            {
                float scale = 1.0f / (k * k);
                NETGEN_LOOP(i, planes * inH * inW)
                {
                    int ix = i % inW, iy = (i / inW) % inH, p = i / (inW * inH);
                    const float* g = dy + (long long)p * outH * outW;
                    float acc = accumulate ? dx[i] : 0.0f;
                    int oy0 = iy - k + 1, ox0 = ix - k + 1;
                    oy0 = oy0 <= 0 ? 0 : (oy0 + s - 1) / s;
                    ox0 = ox0 <= 0 ? 0 : (ox0 + s - 1) / s;
                    int oy1 = iy / s < outH - 1 ? iy / s : outH - 1, ox1 = ix / s < outW - 1 ? ix / s : outW - 1;
                    for (int oy = oy0; oy <= oy1; oy++)
                        for (int ox = ox0; ox <= ox1; ox++) acc += g[oy * outW + ox] * scale;
                    dx[i] = acc;
                }
            }
            """,
        ["netgen_adaptive_avg_pool_forward"] = """
            // The bin's sum divided by its area, as NetGen.Cpu.AdaptivePool2d; a 1x1 output (global pooling) multiplies by
            // 1/(inH*inW) instead.
            extern "C" __global__ void netgen_adaptive_avg_pool_forward(float* y, const float* x, int planes, int inH, int inW, int outH, int outW)
            {
                NETGEN_LOOP(i, planes * outH * outW)
                {
                    int ox = i % outW, oy = (i / outW) % outH, p = i / (outW * outH);
                    const float* plane = x + (long long)p * inH * inW;
                    int y0, y1, x0, x1;
                    netgen_pool_bin(oy, inH, outH, &y0, &y1);
                    netgen_pool_bin(ox, inW, outW, &x0, &x1);
                    float sum = 0.0f;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) sum += plane[iy * inW + ix];
                    y[i] = outH * outW == 1 ? sum * (1.0f / (inH * inW)) : sum / (float)((y1 - y0) * (x1 - x0));
                }
            }
            """,
        ["netgen_adaptive_avg_pool_backward"] = """
            // dx (=|+=) dy / (bin area) of every bin that holds this element, bins in row-major order.
            extern "C" __global__ void netgen_adaptive_avg_pool_backward(float* dx, const float* dy, int planes, int inH, int inW, int outH, int outW, int accumulate)
            {
                NETGEN_LOOP(i, planes * inH * inW)
                {
                    int ix = i % inW, iy = (i / inW) % inH, p = i / (inW * inH);
                    const float* g = dy + (long long)p * outH * outW;
                    float acc = accumulate ? dx[i] : 0.0f;
                    if (outH * outW == 1)
                    {
                        acc += g[0] * (1.0f / (inH * inW));
                    }
                    else
                    {
                        for (int oy = 0; oy < outH; oy++)
                        {
                            int y0, y1;
                            netgen_pool_bin(oy, inH, outH, &y0, &y1);
                            if (iy < y0 || iy >= y1) continue;
                            for (int ox = 0; ox < outW; ox++)
                            {
                                int x0, x1;
                                netgen_pool_bin(ox, inW, outW, &x0, &x1);
                                if (ix >= x0 && ix < x1) acc += g[oy * outW + ox] / (float)((y1 - y0) * (x1 - x0));
                            }
                        }
                    }
                    dx[i] = acc;
                }
            }
            """,
        ["netgen_concat_forward"] = """
            // y[b, offset + j] = x[b, j]: one operand of a Concat into its place in each row of the output.
            extern "C" __global__ void netgen_concat_forward(float* y, const float* x, int batch, int size, int total, int offset)
            {
                NETGEN_LOOP(i, batch * size) y[(long long)(i / size) * total + offset + i % size] = x[i];
            }
            """,
        ["netgen_concat_backward"] = """
            // dx[b, j] (=|+=) dy[b, offset + j]: an operand's slice of the Concat's gradient.
            extern "C" __global__ void netgen_concat_backward(float* dx, const float* dy, int batch, int size, int total, int offset, int accumulate)
            {
                NETGEN_LOOP(i, batch * size)
                {
                    float g = dy[(long long)(i / size) * total + offset + i % size];
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_softmax_forward"] = """
            // Per row: y = exp(x - max) * (1 / sum), as NetGen.Cpu.Activations.SoftmaxForward.
            extern "C" __global__ void netgen_softmax_forward(float* y, const float* x, int rows, int cols)
            {
                NETGEN_LOOP(r, rows)
                {
                    const float* xr = x + (long long)r * cols;
                    float* yr = y + (long long)r * cols;
                    float max = xr[0];
                    for (int c = 1; c < cols; c++) max = fmaxf(max, xr[c]);
                    float sum = 0.0f;
                    for (int c = 0; c < cols; c++) { yr[c] = expf(xr[c] - max); sum += yr[c]; }
                    float inverse = 1.0f / sum;
                    for (int c = 0; c < cols; c++) yr[c] *= inverse;
                }
            }
            """,
        ["netgen_softmax_backward"] = """
            // Per row: dx (=|+=) y * (dy - sum(dy * y)).
            extern "C" __global__ void netgen_softmax_backward(float* dx, const float* dy, const float* y, int rows, int cols, int accumulate)
            {
                NETGEN_LOOP(r, rows)
                {
                    long long o = (long long)r * cols;
                    float dot = 0.0f;
                    for (int c = 0; c < cols; c++) dot += dy[o + c] * y[o + c];
                    for (int c = 0; c < cols; c++)
                    {
                        float g = y[o + c] * (dy[o + c] - dot);
                        dx[o + c] = accumulate ? dx[o + c] + g : g;
                    }
                }
            }
            """,
        ["netgen_multiply_forward"] = """
            extern "C" __global__ void netgen_multiply_forward(float* y, const float* a, const float* b, int n)
            {
                NETGEN_LOOP(i, n) y[i] = a[i] * b[i];
            }
            """,
        ["netgen_exp_forward"] = """
            extern "C" __global__ void netgen_exp_forward(float* y, const float* x, int n)
            {
                NETGEN_LOOP(i, n) y[i] = expf(x[i]);
            }
            """,
        ["netgen_scale_forward"] = """
            extern "C" __global__ void netgen_scale_forward(float* y, const float* x, int n, float factor)
            {
                NETGEN_LOOP(i, n) y[i] = x[i] * factor;
            }
            """,
        ["netgen_scale_backward"] = """
            // dx (=|+=) factor * dy.
            extern "C" __global__ void netgen_scale_backward(float* dx, const float* dy, int n, float factor, int accumulate)
            {
                NETGEN_LOOP(i, n)
                {
                    float g = factor * dy[i];
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_lrn_forward"] = """
            // Cross-channel LRN (PyTorch's LocalResponseNorm, as NetGen.Cpu.LocalResponseNorm): channels [c - size/2,
            // c + (size-1)/2] clipped; D = k + alpha/size * sum x^2; y = x * D^-beta.
            extern "C" __global__ void netgen_lrn_forward(float* y, const float* x, int batch, int channels, int spatial, int size, float alpha, float beta, float k)
            {
                float scale = alpha / size;
                NETGEN_LOOP(i, batch * channels * spatial)
                {
                    int s = i % spatial, c = (i / spatial) % channels;
                    const float* sample = x + (long long)(i / (spatial * channels)) * channels * spatial;
                    int lo = c - size / 2 > 0 ? c - size / 2 : 0, hi = c + (size - 1) / 2 < channels - 1 ? c + (size - 1) / 2 : channels - 1;
                    float acc = 0.0f;
                    for (int j = lo; j <= hi; j++) { float v = sample[j * spatial + s]; acc += v * v; }
                    y[i] = x[i] * powf(acc * scale + k, -beta);
                }
            }
            """,
        ["netgen_lrn_backward"] = """
            // dx[j] (=|+=) dy[j] D[j]^-beta - 2 alpha beta / size * x[j] * sum over the channels i whose window holds j of
            // dy[i] x[i] D[i]^(-beta-1); the denominators are recomputed from the input.
            extern "C" __global__ void netgen_lrn_backward(float* dx, const float* dy, const float* x, int batch, int channels, int spatial, int size, float alpha, float beta, float k, int accumulate)
            {
                float scale = alpha / size, gradientScale = 2.0f * alpha * beta / size;
                NETGEN_LOOP(i, batch * channels * spatial)
                {
                    int s = i % spatial, j = (i / spatial) % channels;
                    long long base = (long long)(i / (spatial * channels)) * channels * spatial;
                    const float* xs = x + base;
                    const float* dys = dy + base;
                    float own = 0.0f, sum = 0.0f;
                    int lo = j - (size - 1) / 2 > 0 ? j - (size - 1) / 2 : 0, hi = j + size / 2 < channels - 1 ? j + size / 2 : channels - 1;
                    for (int c = lo; c <= hi; c++)
                    {
                        int wlo = c - size / 2 > 0 ? c - size / 2 : 0, whi = c + (size - 1) / 2 < channels - 1 ? c + (size - 1) / 2 : channels - 1;
                        float acc = 0.0f;
                        for (int m = wlo; m <= whi; m++) { float v = xs[m * spatial + s]; acc += v * v; }
                        float d = acc * scale + k;
                        float p = powf(d, -beta);
                        if (c == j) own = p;
                        sum += dys[c * spatial + s] * xs[c * spatial + s] * (p / d);
                    }
                    float g = dy[i] * own - gradientScale * x[i] * sum;
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
            """,
        ["netgen_upsample_helpers"] = """
            // NetGen.Cpu.Upsample2d's source indices (PyTorch's, align_corners=False, ratio (float)in / out).
            static inline __device__ int netgen_nearest_source(int dst, int inSize, int outSize)
            {
                if (outSize == inSize) return dst;
                if (outSize == 2 * inSize) return dst >> 1;
                float scale = (float)inSize / outSize;
                int src = (int)floorf(dst * scale);
                return src < inSize - 1 ? src : inSize - 1;
            }

            static inline __device__ void netgen_linear_taps(int dst, int inSize, int outSize, int* i0, int* i1, float* w0, float* w1)
            {
                if (outSize == inSize) { *i0 = *i1 = dst; *w0 = 1.0f; *w1 = 0.0f; return; }
                float scale = (float)inSize / outSize;
                float real = scale * (dst + 0.5f) - 0.5f;
                if (real < 0.0f) real = 0.0f;
                int index = (int)floorf(real);
                if (index > inSize - 1) index = inSize - 1;
                float lambda = real - index;
                if (lambda < 0.0f) lambda = 0.0f;
                else if (lambda > 1.0f) lambda = 1.0f;
                *i0 = index;
                *i1 = index < inSize - 1 ? index + 1 : index;
                *w1 = lambda;
                *w0 = 1.0f - lambda;
            }

            // The first dst in [0, outSize] whose source (nearest, or the first linear tap) is >= target: sources never
            // decrease as dst grows, so the outputs that read one input row or column form a range found by bisection.
            static inline __device__ int netgen_first_source(int target, int inSize, int outSize, int linear)
            {
                int lo = 0, hi = outSize;
                while (lo < hi)
                {
                    int mid = (lo + hi) / 2, src;
                    if (linear) { int i1; float w0, w1; netgen_linear_taps(mid, inSize, outSize, &src, &i1, &w0, &w1); }
                    else src = netgen_nearest_source(mid, inSize, outSize);
                    if (src < target) lo = mid + 1; else hi = mid;
                }
                return lo;
            }
            """,
        ["netgen_upsample_nearest_forward"] = """
            extern "C" __global__ void netgen_upsample_nearest_forward(float* y, const float* x, int planes, int inH, int inW, int outH, int outW)
            {
                NETGEN_LOOP(i, planes * outH * outW)
                {
                    int ox = i % outW, oy = (i / outW) % outH, p = i / (outW * outH);
                    y[i] = x[(long long)p * inH * inW + netgen_nearest_source(oy, inH, outH) * inW + netgen_nearest_source(ox, inW, outW)];
                }
            }
            """,
        ["netgen_upsample_nearest_backward"] = """
            // dx (=|+=) the dy of every output that copied this input pixel, in output order (the CPU's scatter order).
            extern "C" __global__ void netgen_upsample_nearest_backward(float* dx, const float* dy, int planes, int inH, int inW, int outH, int outW, int accumulate)
            {
                NETGEN_LOOP(i, planes * inH * inW)
                {
                    int ix = i % inW, iy = (i / inW) % inH, p = i / (inW * inH);
                    const float* g = dy + (long long)p * outH * outW;
                    float acc = accumulate ? dx[i] : 0.0f;
                    int oy0 = netgen_first_source(iy, inH, outH, 0), oy1 = netgen_first_source(iy + 1, inH, outH, 0);
                    int ox0 = netgen_first_source(ix, inW, outW, 0), ox1 = netgen_first_source(ix + 1, inW, outW, 0);
                    for (int oy = oy0; oy < oy1; oy++)
                        for (int ox = ox0; ox < ox1; ox++) acc += g[oy * outW + ox];
                    dx[i] = acc;
                }
            }
            """,
        ["netgen_upsample_bilinear_forward"] = """
            extern "C" __global__ void netgen_upsample_bilinear_forward(float* y, const float* x, int planes, int inH, int inW, int outH, int outW)
            {
                NETGEN_LOOP(i, planes * outH * outW)
                {
                    int ox = i % outW, oy = (i / outW) % outH, p = i / (outW * outH);
                    const float* plane = x + (long long)p * inH * inW;
                    if (outH == inH && outW == inW) { y[i] = plane[oy * inW + ox]; continue; }
                    int y0, y1, x0, x1;
                    float wy0, wy1, wx0, wx1;
                    netgen_linear_taps(oy, inH, outH, &y0, &y1, &wy0, &wy1);
                    netgen_linear_taps(ox, inW, outW, &x0, &x1, &wx0, &wx1);
                    const float* row0 = plane + y0 * inW;
                    const float* row1 = plane + y1 * inW;
                    y[i] = wy0 * (wx0 * row0[x0] + wx1 * row0[x1]) + wy1 * (wx0 * row1[x0] + wx1 * row1[x1]);
                }
            }
            """,
        ["netgen_upsample_bilinear_backward"] = """
            // dx (=|+=) each output's dy times its weight for this input pixel, outputs in order and taps in the CPU's
            // order (row 0 then row 1, column 0 then column 1), so the sum rounds as the CPU's scatter does.
            extern "C" __global__ void netgen_upsample_bilinear_backward(float* dx, const float* dy, int planes, int inH, int inW, int outH, int outW, int accumulate)
            {
                NETGEN_LOOP(i, planes * inH * inW)
                {
                    int ix = i % inW, iy = (i / inW) % inH, p = i / (inW * inH);
                    const float* g = dy + (long long)p * outH * outW;
                    float acc = accumulate ? dx[i] : 0.0f;
                    if (outH == inH && outW == inW) { dx[i] = acc + g[iy * outW + ix]; continue; }
                    int oy0 = netgen_first_source(iy - 1, inH, outH, 1), oy1 = netgen_first_source(iy + 1, inH, outH, 1);
                    int ox0 = netgen_first_source(ix - 1, inW, outW, 1), ox1 = netgen_first_source(ix + 1, inW, outW, 1);
                    for (int oy = oy0; oy < oy1; oy++)
                    {
                        int y0, y1;
                        float wy0, wy1;
                        netgen_linear_taps(oy, inH, outH, &y0, &y1, &wy0, &wy1);
                        for (int ox = ox0; ox < ox1; ox++)
                        {
                            int x0, x1;
                            float wx0, wx1;
                            netgen_linear_taps(ox, inW, outW, &x0, &x1, &wx0, &wx1);
                            float g0 = wy0 * g[oy * outW + ox], g1 = wy1 * g[oy * outW + ox];
                            if (y0 == iy && x0 == ix) acc += wx0 * g0;
                            if (y0 == iy && x1 == ix) acc += wx1 * g0;
                            if (y1 == iy && x0 == ix) acc += wx0 * g1;
                            if (y1 == iy && x1 == ix) acc += wx1 * g1;
                        }
                    }
                    dx[i] = acc;
                }
            }
            """,
        ["netgen_step_backward"] = """
            // dSequence [batch, steps, features] (=|+=) dy [batch, features] at one step; the other steps are zeroed
            // unless accumulating (NetGen.Cpu.Recurrent.SelectStepBackward). The forward copy is netgen_concat_backward.
            extern "C" __global__ void netgen_step_backward(float* dx, const float* dy, int batch, int steps, int features, int step, int accumulate)
            {
                NETGEN_LOOP(i, batch * steps * features)
                {
                    int j = i % features, t = (i / features) % steps, b = i / (features * steps);
                    if (t == step)
                    {
                        float g = dy[(long long)b * features + j];
                        dx[i] = accumulate ? dx[i] + g : g;
                    }
                    else if (!accumulate)
                    {
                        dx[i] = 0.0f;
                    }
                }
            }
            """,
        ["netgen_bias_forward"] = """
            // y[rows, features] += bias[features]
            extern "C" __global__ void netgen_bias_forward(float* y, const float* bias, int rows, int features)
            {
                NETGEN_LOOP(i, rows * features) y[i] += bias[i % features];
            }
            """,
        ["netgen_bias_backward"] = """
            // dbias[features] += column sums of dy[rows, features]
            extern "C" __global__ void netgen_bias_backward(float* dbias, const float* dy, int rows, int features)
            {
                NETGEN_LOOP(j, features)
                {
                    float sum = 0.0f;
                    for (int r = 0; r < rows; r++) sum += dy[r * features + j];
                    dbias[j] += sum;
                }
            }
            """,
        ["netgen_recurrent_helpers"] = """
            // Recurrent cells (NetGen.Cpu.Recurrent, PyTorch's equations and gate order). Step kernels run over the batch x H
            // units of one step: b = i / H, j = i % H; the gates of sample b at time t sit in row b * steps + t of [batch,
            // steps, G]; a step's hh, states and gradients are [batch, H] (G for hh); the output row is [outStride] wide
            // with this direction at outOffset. A null pointer is an absent operand (no initial state, no output gradient).
            static inline __device__ float netgen_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
            static inline __device__ long long netgen_gate_row(int b, int steps, int time) { return (long long)b * steps + time; }
            """,
        ["netgen_recurrent_bias"] = """
            // gates[rows, G] = (gates + biasIh) + biasHh over the first `folded` columns (a GRU leaves b_hn out); the CPU's order.
            extern "C" __global__ void netgen_recurrent_bias(float* gates, const float* biasIh, const float* biasHh, int rows, int gateSize, int folded)
            {
                NETGEN_LOOP(i, rows * gateSize)
                {
                    int j = i % gateSize;
                    float a = gates[i];
                    if (biasIh) a = biasIh[j] + a;
                    if (biasHh && j < folded) a += biasHh[j];
                    gates[i] = a;
                }
            }
            """,
        ["netgen_rnn_step_forward"] = """
            // h = tanh(gates + hh); kept in place of the gates (backward reads it there), in h and in the output.
            extern "C" __global__ void netgen_rnn_step_forward(float* gates, const float* hh, float* h, float* out,
                int outStride, int outOffset, int steps, int time, int hidden, int batch)
            {
                NETGEN_LOOP(i, batch * hidden)
                {
                    int b = i / hidden, j = i % hidden;
                    long long row = netgen_gate_row(b, steps, time);
                    float v = tanhf(gates[row * hidden + j] + hh[(long long)b * hidden + j]);
                    gates[row * hidden + j] = v;
                    h[i] = v;
                    out[row * outStride + outOffset + j] = v;
                }
            }
            """,
        ["netgen_rnn_step_backward"] = """
            // da = (dh + dOut) (1 - h^2), into both the input-side and the recurrent-side gate gradients.
            extern "C" __global__ void netgen_rnn_step_backward(const float* gates, const float* dOut, float* daIh, float* daHh, const float* dh,
                int outStride, int outOffset, int steps, int time, int hidden, int batch)
            {
                NETGEN_LOOP(i, batch * hidden)
                {
                    int b = i / hidden, j = i % hidden;
                    long long row = netgen_gate_row(b, steps, time);
                    float d = dOut ? dh[i] + dOut[row * outStride + outOffset + j] : dh[i];
                    float v = gates[row * hidden + j];
                    float da = d * (1.0f - v * v);
                    daIh[row * hidden + j] = da;
                    daHh[(long long)b * hidden + j] = da;
                }
            }
            """,
        ["netgen_lstm_step_forward"] = """
            // i, f, o = sigmoid, g = tanh of gates + hh (rows i, f, g, o); c = f cPrev + i g; h = o tanh(c). The activated
            // gates replace the pre-activations; c and tanh(c) are kept for backward.
            extern "C" __global__ void netgen_lstm_step_forward(float* gates, const float* hh, const float* cPrev, float* h, float* c, float* tanhC, float* out,
                int outStride, int outOffset, int steps, int time, int hidden, int batch)
            {
                NETGEN_LOOP(k, batch * hidden)
                {
                    int b = k / hidden, j = k % hidden;
                    long long row = netgen_gate_row(b, steps, time);
                    float* g4 = gates + row * 4 * hidden;
                    const float* h4 = hh + (long long)b * 4 * hidden;
                    float i = netgen_sigmoid(g4[j] + h4[j]);
                    float f = netgen_sigmoid(g4[hidden + j] + h4[hidden + j]);
                    float g = tanhf(g4[2 * hidden + j] + h4[2 * hidden + j]);
                    float o = netgen_sigmoid(g4[3 * hidden + j] + h4[3 * hidden + j]);
                    float cv = i * g;
                    if (cPrev) cv = f * cPrev[k] + cv;
                    float tc = tanhf(cv), hv = o * tc;
                    g4[j] = i; g4[hidden + j] = f; g4[2 * hidden + j] = g; g4[3 * hidden + j] = o;
                    c[k] = cv;
                    tanhC[k] = tc;
                    h[k] = hv;
                    out[row * outStride + outOffset + j] = hv;
                }
            }
            """,
        ["netgen_lstm_step_backward"] = """
            // dc_total = dc + dh o (1 - tanh(c)^2); the four gate gradients into daIh and daHh; dc = dc_total f for the step before.
            extern "C" __global__ void netgen_lstm_step_backward(const float* gates, const float* tanhC, const float* cPrev, const float* dOut,
                float* daIh, float* daHh, const float* dh, float* dc, int outStride, int outOffset, int steps, int time, int hidden, int batch)
            {
                NETGEN_LOOP(k, batch * hidden)
                {
                    int b = k / hidden, j = k % hidden;
                    long long row = netgen_gate_row(b, steps, time);
                    float d = dOut ? dh[k] + dOut[row * outStride + outOffset + j] : dh[k];
                    const float* g4 = gates + row * 4 * hidden;
                    float i = g4[j], f = g4[hidden + j], g = g4[2 * hidden + j], o = g4[3 * hidden + j];
                    float tc = tanhC[k], cp = cPrev ? cPrev[k] : 0.0f;
                    float dct = (d * o) * (1.0f - tc * tc) + dc[k];
                    float dai = (dct * g) * (i * (1.0f - i));
                    float daf = (dct * cp) * (f * (1.0f - f));
                    float dag = (dct * i) * (1.0f - g * g);
                    float dao = (d * tc) * (o * (1.0f - o));
                    dc[k] = dct * f;
                    float* a4 = daIh + row * 4 * hidden;
                    float* r4 = daHh + (long long)b * 4 * hidden;
                    a4[j] = dai; a4[hidden + j] = daf; a4[2 * hidden + j] = dag; a4[3 * hidden + j] = dao;
                    r4[j] = dai; r4[hidden + j] = daf; r4[2 * hidden + j] = dag; r4[3 * hidden + j] = dao;
                }
            }
            """,
        ["netgen_gru_step_forward"] = """
            // r, z = sigmoid(gates + hh); hn = W_hn h + b_hn; n = tanh(gates_n + r hn); h = n + z (hPrev - n). r, z, n replace
            // the pre-activations; hn is kept for backward.
            extern "C" __global__ void netgen_gru_step_forward(float* gates, const float* hh, const float* hPrev, const float* biasHn, float* h, float* hn, float* out,
                int outStride, int outOffset, int steps, int time, int hidden, int batch)
            {
                NETGEN_LOOP(k, batch * hidden)
                {
                    int b = k / hidden, j = k % hidden;
                    long long row = netgen_gate_row(b, steps, time);
                    float* g3 = gates + row * 3 * hidden;
                    const float* h3 = hh + (long long)b * 3 * hidden;
                    float r = netgen_sigmoid(g3[j] + h3[j]);
                    float z = netgen_sigmoid(g3[hidden + j] + h3[hidden + j]);
                    float hnv = h3[2 * hidden + j];
                    if (biasHn) hnv = hnv + biasHn[j];
                    float n = tanhf(r * hnv + g3[2 * hidden + j]);
                    float hp = hPrev ? hPrev[k] : 0.0f;
                    float hv = z * (hp - n) + n;
                    g3[j] = r; g3[hidden + j] = z; g3[2 * hidden + j] = n;
                    hn[k] = hnv;
                    h[k] = hv;
                    out[row * outStride + outOffset + j] = hv;
                }
            }
            """,
        ["netgen_gru_step_backward"] = """
            // The gate gradients (the recurrent side's n gradient is scaled by r); dh keeps z dh, the direct path to hPrev
            // (the W_hh path is added by the caller's GEMM).
            extern "C" __global__ void netgen_gru_step_backward(const float* gates, const float* hn, const float* hPrev, const float* dOut,
                float* daIh, float* daHh, float* dh, int outStride, int outOffset, int steps, int time, int hidden, int batch)
            {
                NETGEN_LOOP(k, batch * hidden)
                {
                    int b = k / hidden, j = k % hidden;
                    long long row = netgen_gate_row(b, steps, time);
                    float d = dOut ? dh[k] + dOut[row * outStride + outOffset + j] : dh[k];
                    const float* g3 = gates + row * 3 * hidden;
                    float r = g3[j], z = g3[hidden + j], n = g3[2 * hidden + j];
                    float hp = hPrev ? hPrev[k] : 0.0f;
                    float dan = (d * (1.0f - z)) * (1.0f - n * n);
                    float daz = (d * (hp - n)) * (z * (1.0f - z));
                    float dar = (dan * hn[k]) * (r * (1.0f - r));
                    dh[k] = d * z;
                    float* a3 = daIh + row * 3 * hidden;
                    float* r3 = daHh + (long long)b * 3 * hidden;
                    a3[j] = dar; a3[hidden + j] = daz; a3[2 * hidden + j] = dan;
                    r3[j] = dar; r3[hidden + j] = daz; r3[2 * hidden + j] = dan * r;
                }
            }
            """,
        ["netgen_last_step_forward"] = """
            // y [batch, H * directions] = the state after each direction's last processed step (PyTorch's h_n): the forward
            // direction's (columns [0, H)) at t = steps - 1, the reverse one's at t = 0 (NetGen.Cpu.Recurrent.LastStep).
            extern "C" __global__ void netgen_last_step_forward(float* y, const float* sequence, int batch, int steps, int hidden, int directions)
            {
                int width = hidden * directions;
                NETGEN_LOOP(i, batch * width)
                {
                    int col = i % width, b = i / width;
                    int t = col < hidden ? steps - 1 : 0;
                    y[i] = sequence[((long long)b * steps + t) * width + col];
                }
            }
            """,
        ["netgen_last_step_backward"] = """
            // dSequence (=|+=) dy at those steps; the other steps are zeroed unless accumulating (Recurrent.LastStepBackward).
            extern "C" __global__ void netgen_last_step_backward(float* dSequence, const float* dy, int batch, int steps, int hidden, int directions, int accumulate)
            {
                int width = hidden * directions;
                NETGEN_LOOP(i, batch * steps * width)
                {
                    int col = i % width, t = (i / width) % steps, b = i / (width * steps);
                    if (t == (col < hidden ? steps - 1 : 0))
                    {
                        float g = dy[(long long)b * width + col];
                        dSequence[i] = accumulate ? dSequence[i] + g : g;
                    }
                    else if (!accumulate) dSequence[i] = 0.0f;
                }
            }
            """,
        ["netgen_softmax_xent_labels"] = """
            // Per row b: loss = logsumexp(x) - x[label]; dx = (softmax(x) - onehot(label)) / batch.
            extern "C" __global__ void netgen_softmax_xent_labels(const float* logits, const int* labels, float* dlogits, float* rowLoss, int batch, int classes)
            {
                NETGEN_LOOP(b, batch)
                {
                    const float* x = logits + b * classes;
                    float* dx = dlogits + b * classes;
                    float max = x[0];
                    for (int c = 1; c < classes; c++) max = fmaxf(max, x[c]);
                    float sum = 0.0f;
                    for (int c = 0; c < classes; c++) sum += expf(x[c] - max);
                    int label = labels[b];
                    rowLoss[b] = max + logf(sum) - x[label];
                    float invSum = 1.0f / sum, invBatch = 1.0f / batch;
                    for (int c = 0; c < classes; c++)
                        dx[c] = (expf(x[c] - max) * invSum - (c == label ? 1.0f : 0.0f)) * invBatch;
                }
            }
            """,
        ["netgen_softmax_xent_targets"] = """
            // Soft targets: loss = sum_c t_c (logsumexp(x) - x_c); dx = (softmax(x) * sum_c t_c - t) / batch.
            extern "C" __global__ void netgen_softmax_xent_targets(const float* logits, const float* targets, float* dlogits, float* rowLoss, int batch, int classes)
            {
                NETGEN_LOOP(b, batch)
                {
                    const float* x = logits + b * classes;
                    const float* t = targets + b * classes;
                    float* dx = dlogits + b * classes;
                    float max = x[0];
                    for (int c = 1; c < classes; c++) max = fmaxf(max, x[c]);
                    float sum = 0.0f;
                    for (int c = 0; c < classes; c++) sum += expf(x[c] - max);
                    float logSumExp = max + logf(sum), loss = 0.0f, mass = 0.0f;
                    for (int c = 0; c < classes; c++) { loss += t[c] * (logSumExp - x[c]); mass += t[c]; }
                    rowLoss[b] = loss;
                    float invSum = 1.0f / sum, invBatch = 1.0f / batch;
                    for (int c = 0; c < classes; c++)
                        dx[c] = (expf(x[c] - max) * invSum * mass - t[c]) * invBatch;
                }
            }
            """,
        ["netgen_mse"] = """
            // Per row: the sum of squared differences; dy = 2 (y - t) / (batch * features).
            extern "C" __global__ void netgen_mse(const float* y, const float* targets, float* dy, float* rowLoss, int batch, int features)
            {
                NETGEN_LOOP(b, batch)
                {
                    float scale = 2.0f / ((float)batch * features), sum = 0.0f;
                    for (int j = b * features; j < (b + 1) * features; j++)
                    {
                        float diff = y[j] - targets[j];
                        sum += diff * diff;
                        dy[j] = scale * diff;
                    }
                    rowLoss[b] = sum;
                }
            }
            """,
        ["netgen_bce_logits"] = """
            // BCEWithLogits as NetGen.Cpu.Losses computes it, in double: per row the sum of max(x, 0) - x t + log(1 + exp(-|x|));
            // dx = (sigmoid(x) - t) / (batch * features).
            extern "C" __global__ void netgen_bce_logits(const float* logits, const float* targets, float* dx, float* rowLoss, int batch, int features)
            {
                NETGEN_LOOP(b, batch)
                {
                    double invCount = 1.0 / ((double)batch * features), sum = 0.0;
                    for (int j = b * features; j < (b + 1) * features; j++)
                    {
                        double x = logits[j], t = targets[j];
                        double e = exp(-fabs(x));
                        double softplus = e < 1e-5 ? e * (1.0 - 0.5 * e) : log(1.0 + e);
                        sum += fmax(x, 0.0) - x * t + softplus;
                        double sigmoid = x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                        dx[j] = (float)((sigmoid - t) * invCount);
                    }
                    rowLoss[b] = (float)sum;
                }
            }
            """,
        ["netgen_l1"] = """
            // Per row: the sum of absolute differences; dy = sign(y - t) / (batch * features), 0 where y == t (PyTorch's L1Loss).
            extern "C" __global__ void netgen_l1(const float* y, const float* targets, float* dy, float* rowLoss, int batch, int features)
            {
                NETGEN_LOOP(b, batch)
                {
                    float scale = 1.0f / ((float)batch * features);
                    double sum = 0.0;
                    for (int j = b * features; j < (b + 1) * features; j++)
                    {
                        float diff = y[j] - targets[j];
                        sum += fabs((double)diff);
                        dy[j] = diff > 0.0f ? scale : diff < 0.0f ? -scale : 0.0f;
                    }
                    rowLoss[b] = (float)sum;
                }
            }
            """,
        ["netgen_mean_rows"] = """
            // loss[0] = scale * the sum of the per-row losses, in double and in row order (one thread: deterministic).
            extern "C" __global__ void netgen_mean_rows(float* loss, const float* rowLoss, int batch, float scale)
            {
                NETGEN_LOOP(i, 1)
                {
                    double sum = 0.0;
                    for (int b = 0; b < batch; b++) sum += rowLoss[b];
                    loss[0] = (float)(sum * scale);
                }
            }
            """,
        ["netgen_sgd"] = """
            // torch.optim.SGD (dampening 0, not Nesterov); hyper = { lr, momentum, weightDecay }; velocity unused without momentum.
            extern "C" __global__ void netgen_sgd(float* p, const float* g, float* velocity, const float* hyper, int n)
            {
                float lr = hyper[0], momentum = hyper[1], weightDecay = hyper[2];
                NETGEN_LOOP(i, n)
                {
                    float grad = g[i] + weightDecay * p[i];
                    if (momentum != 0.0f)
                    {
                        velocity[i] = momentum * velocity[i] + grad;
                        grad = velocity[i];
                    }
                    p[i] -= lr * grad;
                }
            }
            """,
        ["netgen_adam"] = """
            // Adam / AdamW exactly as NetGen.Adam.Step; hyper = { beta1, beta2, epsilon, stepSize, 1/sqrt(correction2), l2, shrink }.
            extern "C" __global__ void netgen_adam(float* p, const float* g, float* m, float* v, const float* hyper, int n)
            {
                float b1 = hyper[0], b2 = hyper[1], eps = hyper[2], stepSize = hyper[3], invRootC2 = hyper[4], l2 = hyper[5], shrink = hyper[6];
                float c1 = 1.0f - b1, c2 = 1.0f - b2;
                NETGEN_LOOP(i, n)
                {
                    float pk = p[i];
                    float gk = g[i] + l2 * pk;
                    pk *= shrink;
                    float mk = b1 * m[i] + c1 * gk;
                    float vk = b2 * v[i] + c2 * gk * gk;
                    m[i] = mk;
                    v[i] = vk;
                    p[i] = pk - stepSize * mk / (sqrtf(vk) * invRootC2 + eps);
                }
            }
            """,
    };

    /// <summary>The CUDA C source of the named kernels, in the order given (duplicates dropped).</summary>
    public static string Source(string network, IEnumerable<string> kernels)
    {
        var text = new StringBuilder();
        text.Append("// CUDA kernels of ").Append(network).Append(", emitted by the NetGen generator and compiled once by NVRTC.\n");
        text.Append("// Each is a grid-stride loop over independent indices.\n");
        text.Append("#define NETGEN_LOOP(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)\n");
        foreach (var name in kernels.Distinct())
            text.Append('\n').Append(s_sources[name].Replace("\r\n", "\n")).Append('\n');
        return text.ToString();
    }

    public static IEnumerable<string> All => s_sources.Keys;

    /// <summary>Device functions other kernels call (listed before them), not kernels of their own.</summary>
    public static bool IsHelper(string name) => name.EndsWith("_helpers", System.StringComparison.Ordinal);
}
