using System;

namespace NetGen.Cuda;

/// <summary>
/// One kernel of a network's NVRTC module, with typed launchers for the argument lists the generated kernels use
/// (device addresses, ints, floats, in that kernel's order). <c>count</c> is the number of independent items; the
/// kernels loop with a grid stride, so any grid covers them.
/// </summary>
public readonly unsafe struct CudaKernel
{
    private readonly CudaContext _context;
    private readonly IntPtr _function;

    public CudaKernel(CudaContext context, string name)
    {
        _context = context;
        _function = context.Kernel(name);
        Name = name;
    }

    public string Name { get; }

    /// <summary>(y, x, n): forward activations.</summary>
    public void Run(long count, nint a, nint b, int i0)
    {
        void** args = stackalloc void*[3];
        args[0] = &a; args[1] = &b; args[2] = &i0;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(y, a, b, n): sums.</summary>
    public void Run(long count, nint a, nint b, nint c, int i0)
    {
        void** args = stackalloc void*[4];
        args[0] = &a; args[1] = &b; args[2] = &c; args[3] = &i0;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(destination, source, n, accumulate) and (y, bias, rows, features).</summary>
    public void Run(long count, nint a, nint b, int i0, int i1)
    {
        void** args = stackalloc void*[4];
        args[0] = &a; args[1] = &b; args[2] = &i0; args[3] = &i1;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(dx, dy, y, n, accumulate): activation gradients.</summary>
    public void Run(long count, nint a, nint b, nint c, int i0, int i1)
    {
        void** args = stackalloc void*[5];
        args[0] = &a; args[1] = &b; args[2] = &c; args[3] = &i0; args[4] = &i1;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(y, x, n, slope): LeakyReLU.</summary>
    public void Run(long count, nint a, nint b, int i0, float f0)
    {
        void** args = stackalloc void*[4];
        args[0] = &a; args[1] = &b; args[2] = &i0; args[3] = &f0;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(y, mask, x, keys, key index, n, p): Dropout in training.</summary>
    public void Run(long count, nint a, nint b, nint c, nint d, int i0, int i1, float f0)
    {
        void** args = stackalloc void*[7];
        args[0] = &a; args[1] = &b; args[2] = &c; args[3] = &d; args[4] = &i0; args[5] = &i1; args[6] = &f0;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(dx, dy, n, factor, accumulate): Scale's gradient.</summary>
    public void Run(long count, nint a, nint b, int i0, float f0, int i1)
    {
        void** args = stackalloc void*[5];
        args[0] = &a; args[1] = &b; args[2] = &i0; args[3] = &f0; args[4] = &i1;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(y, x, batch, channels, spatial, size, alpha, beta, k): LRN forward.</summary>
    public void Run(long count, nint a, nint b, int i0, int i1, int i2, int i3, float f0, float f1, float f2)
    {
        void** args = stackalloc void*[9];
        args[0] = &a; args[1] = &b; args[2] = &i0; args[3] = &i1; args[4] = &i2; args[5] = &i3; args[6] = &f0; args[7] = &f1; args[8] = &f2;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(dx, dy, x, batch, channels, spatial, size, alpha, beta, k, accumulate): LRN backward.</summary>
    public void Run(long count, nint a, nint b, nint c, int i0, int i1, int i2, int i3, float f0, float f1, float f2, int i4)
    {
        void** args = stackalloc void*[11];
        args[0] = &a; args[1] = &b; args[2] = &c; args[3] = &i0; args[4] = &i1; args[5] = &i2; args[6] = &i3;
        args[7] = &f0; args[8] = &f1; args[9] = &f2; args[10] = &i4;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(a, b, then ints): pooling forward and backward, Concat.</summary>
    public void Run(long count, nint a, nint b, params ReadOnlySpan<int> ints) => Run(count, a, b, 0, 2, ints);

    /// <summary>(a, b, c, then ints): max pooling backward.</summary>
    public void Run(long count, nint a, nint b, nint c, params ReadOnlySpan<int> ints) => Run(count, a, b, c, 3, ints);

    private void Run(long count, nint a, nint b, nint c, int pointers, ReadOnlySpan<int> ints)
    {
        int n = ints.Length;
        int* values = stackalloc int[n];
        ints.CopyTo(new Span<int>(values, n));
        void** args = stackalloc void*[pointers + n];
        args[0] = &a; args[1] = &b;
        if (pointers == 3) args[2] = &c;
        for (int i = 0; i < n; i++) args[pointers + i] = values + i;
        _context.Launch(_function, count, args, Name);
    }

    /// <summary>(dx, dy, x, n, slope, accumulate): LeakyReLU gradients.</summary>
    public void Run(long count, nint a, nint b, nint c, int i0, float f0, int i1)
    {
        void** args = stackalloc void*[6];
        args[0] = &a; args[1] = &b; args[2] = &c; args[3] = &i0; args[4] = &f0; args[5] = &i1;
        _context.Launch(_function, count, args, Name);
    }
}
