using System;
using System.Runtime.InteropServices;

namespace NetGen.Cuda.Native;

/// <summary>NVRTC (libnvrtc): compiles the generator's CUDA C to a CUBIN for the device at hand.</summary>
public static unsafe partial class Nvrtc
{
    static Nvrtc() => CudaLibraries.EnsureResolver();

    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcVersion(int* major, int* minor);
    [LibraryImport(CudaLibraries.RtcName)] public static partial byte* nvrtcGetErrorString(int status);
    [LibraryImport(CudaLibraries.RtcName)]
    public static partial int nvrtcCreateProgram(IntPtr* program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcDestroyProgram(IntPtr* program);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcCompileProgram(IntPtr program, int optionCount, byte** options);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetProgramLogSize(IntPtr program, nuint* bytes);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetProgramLog(IntPtr program, byte* log);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetCUBINSize(IntPtr program, nuint* bytes);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetCUBIN(IntPtr program, byte* cubin);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(CudaLibrary.Rtc, status, Marshal.PtrToStringUTF8((IntPtr)nvrtcGetErrorString(status)), call);
    }
}
