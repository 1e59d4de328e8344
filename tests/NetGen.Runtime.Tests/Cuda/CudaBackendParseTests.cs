using System;
using NetGen.Cuda;
using Xunit;

namespace NetGen.Runtime.Tests;

public class CudaBackendParseTests
{
    [Fact]
    public void Backend_names_parse_in_any_case_and_anything_else_names_the_option()
    {
        Assert.Equal(Backend.Cpu, CudaBackend.Parse("cpu"));
        Assert.Equal(Backend.Cuda, CudaBackend.Parse("CUDA"));
        Assert.Equal(Backend.Auto, CudaBackend.Parse("Auto"));
        Assert.Equal("--backend must be cpu, cuda or auto, got 'gpu'", Assert.Throws<FormatException>(() => CudaBackend.Parse("gpu", "--backend")).Message);
        Assert.Throws<FormatException>(() => CudaBackend.Parse("1"));
    }
}
