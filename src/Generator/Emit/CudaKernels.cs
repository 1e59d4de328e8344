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
        "netgen_softmax_xent_labels", "netgen_softmax_xent_targets", "netgen_mse", "netgen_mean_rows", "netgen_sgd", "netgen_adam",
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
}
