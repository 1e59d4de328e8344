using System;
using System.Runtime.InteropServices;

namespace NetGen.Cuda.Native;

/// <summary>
/// NVRTC (libnvrtc): compiles the generator's CUDA C to a CUBIN for the device at hand, or to PTX for the newest
/// architecture it knows when the device is newer (<see cref="NetGen.Cuda.NvrtcTarget"/>).
/// </summary>
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
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetPTXSize(IntPtr program, nuint* bytes);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetPTX(IntPtr program, byte* ptx);
    // Since CUDA 11.2: the architectures this NVRTC compiles for, ascending (75, 80, 86, ... as major * 10 + minor).
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetNumSupportedArchs(int* count);
    [LibraryImport(CudaLibraries.RtcName)] public static partial int nvrtcGetSupportedArchs(int* architectures);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(CudaLibrary.Rtc, status, Marshal.PtrToStringUTF8((IntPtr)nvrtcGetErrorString(status)), call);
    }
}
