using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetGen.Generator.Model;
using Xunit;

namespace NetGen.Generator.Tests;

public class IncrementalTests
{
    private static IEnumerable<IncrementalStepRunReason> ParseReasons(GeneratorDriver driver) =>
        driver.GetRunResult().Results.Single().TrackedSteps["NetGen.Parse"].SelectMany(s => s.Outputs).Select(o => o.Reason);

    [Fact]
    public void Second_run_on_a_cloned_compilation_is_cached()
    {
        var compilation = GeneratorHarness.Compile(Sources.LeNet5, Sources.TinyDag);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        Assert.All(ParseReasons(driver), r => Assert.Equal(IncrementalStepRunReason.New, r));

        driver = driver.RunGenerators(compilation.Clone());
        var reasons = ParseReasons(driver).ToList();
        Assert.Equal(2, reasons.Count);
        Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
        var outputs = driver.GetRunResult().Results.Single().TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs);
        Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }

    [Fact]
    public void Editing_one_network_reruns_only_that_network()
    {
        var compilation = GeneratorHarness.Compile(Sources.LeNet5, Sources.TinyDag);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single(t => t.FilePath == "Network1.cs");
        var newTree = oldTree.WithChangedText(oldTree.GetText().Replace(
            Sources.TinyDag.IndexOf("Dense(Shared(s) + extra, 3"), "Dense(Shared(s) + extra, 3".Length, "Dense(Shared(s) + extra, 5"));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree));

        var steps = driver.GetRunResult().Results.Single().TrackedSteps["NetGen.Parse"].ToList();
        var reasons = steps.SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Contains(IncrementalStepRunReason.Modified, reasons);
        Assert.Single(reasons, r => r == IncrementalStepRunReason.Modified);
        Assert.Single(reasons, r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged);
        Assert.Contains("OutputSize = 5", string.Join("\n", driver.GetRunResult().GeneratedTrees.Select(t => t.ToString())));
    }

    [Fact]
    public void Unrelated_edit_leaves_the_model_unchanged()
    {
        var compilation = GeneratorHarness.Compile(Sources.LeNet5, "namespace Other; public class Unrelated { }");
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var other = compilation.SyntaxTrees.Single(t => t.FilePath == "Network1.cs");
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(other,
            CSharpSyntaxTree.ParseText("namespace Other; public class Unrelated { public int X; }", GeneratorHarness.ParseOptions, "Network1.cs")));
        Assert.All(ParseReasons(driver), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
    }

    [Fact]
    public void Pipeline_model_holds_no_roslyn_types()
    {
        var seen = new HashSet<Type>();
        var offenders = new List<string>();
        Visit(typeof(NetworkSpec), seen, offenders);
        Assert.Empty(offenders);
        Assert.Contains(typeof(NodeSpec), seen);
        Assert.Contains(typeof(DiagnosticInfo), seen);
    }

    private static void Visit(Type type, HashSet<Type> seen, List<string> offenders)
    {
        if (!seen.Add(type) || type.IsPrimitive || type == typeof(string) || type.IsEnum) return;
        if (type.Namespace?.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) == true)
        {
            offenders.Add(type.FullName!);
            return;
        }
        if (type.IsGenericType)
            foreach (var argument in type.GetGenericArguments()) Visit(argument, seen, offenders);
        if (type.Namespace?.StartsWith("NetGen", StringComparison.Ordinal) != true) return;
        foreach (var property in type.GetProperties(BindingFlags.Instance | BindingFlags.Public))
            Visit(property.PropertyType, seen, offenders);
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public))
            Visit(field.FieldType, seen, offenders);
    }
}
