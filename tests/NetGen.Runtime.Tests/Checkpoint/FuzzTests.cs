using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using NetGen;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Runtime.Tests;

/// <summary>
/// A seeded mutation fuzzer for the safetensors reader. Valid files written by <see cref="Safetensors.Save"/> are
/// mutated (bit flips, interesting bytes, truncations, insertions, deletions, splices, header-length rewrites,
/// JSON token and member edits, non-finite data) and fed to Load, ReadHeader and ReadMetadata. The only acceptable
/// outcomes are success, checked against the mutant's own bytes, or a <see cref="CheckpointException"/> that names
/// the file (and the tensor it reports) and leaves the destination unchanged.
/// <para>
/// Runs for <c>NETGEN_FUZZ_SECONDS</c> seconds (default 3) from seed <c>NETGEN_FUZZ_SEED</c> (default fixed).
/// Every iteration has its own RNG derived from (seed, iteration), so a failure reported as
/// "seed S iteration I" is replayed alone with <c>NETGEN_FUZZ_SEED=S NETGEN_FUZZ_ITERATION=I</c>.
/// </para>
/// </summary>
public sealed class SafetensorsFuzzTests : IDisposable
{
    private const int DefaultSeed = 20_240_601;
    private const double DefaultSeconds = 3.0;

    private readonly ITestOutputHelper _output;
    private readonly CheckpointTempDir _dir = new();

    public SafetensorsFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MutatedFiles_OnlySucceedOrThrowCheckpointException()
    {
        int seed = EnvInt("NETGEN_FUZZ_SEED") ?? DefaultSeed;
        long? replay = EnvLong("NETGEN_FUZZ_ITERATION");
        double seconds = EnvDouble("NETGEN_FUZZ_SECONDS") ?? DefaultSeconds;

        FuzzCorpus corpus = FuzzCorpus.Create(_dir);
        var oracle = new FuzzOracle(_dir.File("mutant.safetensors"));
        string replayHint =
            "replay with NETGEN_FUZZ_SEED={0} NETGEN_FUZZ_ITERATION={1} dotnet test tests/NetGen.Runtime.Tests " +
            "--filter FullyQualifiedName~SafetensorsFuzzTests.MutatedFiles";

        if (replay is long only)
        {
            FuzzCase c = FuzzCase.Generate(corpus, seed, only);
            _output.WriteLine($"seed {seed} iteration {only}: base '{c.Base.Name}', schema of '{c.SchemaOf.Name}', " +
                $"rejectNonFinite={c.RejectNonFinite}, mutations: {string.Join("; ", c.Log)}");
            _output.WriteLine($"mutant ({c.Bytes.Length} bytes, base64): {Convert.ToBase64String(c.Bytes)}");
            string? failure = oracle.Check(c);
            _output.WriteLine("outcome: " + oracle.LastOutcome);
            Assert.True(failure is null, failure);
            return;
        }

        var watch = Stopwatch.StartNew();
        long iteration = 0;
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            FuzzCase c = FuzzCase.Generate(corpus, seed, iteration);
            string? failure = oracle.Check(c);
            if (failure is not null)
            {
                string report =
                    $"Fuzz failure at seed {seed} iteration {iteration} ({string.Format(CultureInfo.InvariantCulture, replayHint, seed, iteration)}).\n" +
                    $"base '{c.Base.Name}', schema of '{c.SchemaOf.Name}', rejectNonFinite={c.RejectNonFinite}\n" +
                    $"mutations: {string.Join("; ", c.Log)}\n" +
                    $"mutant ({c.Bytes.Length} bytes, base64): {(c.Bytes.Length <= 16384 ? Convert.ToBase64String(c.Bytes) : "(too large)")}\n" +
                    failure;
                _output.WriteLine(report);
                Assert.Fail(report);
            }
            iteration++;
        }
        watch.Stop();

        double rate = iteration / Math.Max(watch.Elapsed.TotalSeconds, 1e-9);
        _output.WriteLine($"seed {seed}: {iteration} mutants in {watch.Elapsed.TotalSeconds:F2} s ({rate:F0} mutants/s); " +
            $"Load succeeded {oracle.LoadSuccesses}x, ReadHeader succeeded {oracle.HeaderSuccesses}x");
        _output.WriteLine("CheckpointException kinds (problem text with numbers and names elided), most frequent first:");
        foreach (var kv in oracle.Kinds.OrderByDescending(kv => kv.Value).Take(40))
            _output.WriteLine($"  {kv.Value,8}  {kv.Key}");
        Assert.True(iteration > 0, "the fuzzer ran no iterations");
    }

    /// <summary>
    /// A deterministic sweep that complements the random fuzzer: every truncation of a valid file, and every header
    /// byte overwritten with each of a few structurally significant values.
    /// </summary>
    [Fact]
    public void EveryTruncationAndEveryHeaderByteOverwrite_OnlySucceedOrThrowCheckpointException()
    {
        FuzzCorpus corpus = FuzzCorpus.Create(_dir);
        var oracle = new FuzzOracle(_dir.File("sweep.safetensors"));
        FuzzBase b = corpus.Bases[0];
        int count = 0;
        for (int len = 0; len < b.Bytes.Length; len++)
        {
            var c = new FuzzCase(b, b, b.Bytes.AsSpan(0, len).ToArray(), rejectNonFinite: false, new List<string> { $"truncate to {len}" });
            string? failure = oracle.Check(c);
            Assert.True(failure is null, $"{c.Log[0]}: {failure}");
            Assert.NotNull(oracle.LastLoadException); // any truncation loses data, so Load must fail
            count++;
        }
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(b.Bytes);
        byte[] values = { 0x00, 0xFF, (byte)'"', (byte)'{', (byte)'}', (byte)'9', (byte)'-', (byte)' ', (byte)'\\', 0xC3 };
        for (int pos = 0; pos < headerEnd; pos++)
        {
            foreach (byte v in values)
            {
                if (b.Bytes[pos] == v) continue;
                byte[] m = (byte[])b.Bytes.Clone();
                m[pos] = v;
                var c = new FuzzCase(b, b, m, rejectNonFinite: (pos & 1) == 0, new List<string> { $"byte {pos} = 0x{v:X2}" });
                string? failure = oracle.Check(c);
                Assert.True(failure is null, $"{c.Log[0]}: {failure}");
                count++;
            }
        }
        _output.WriteLine($"{count} mutants of '{b.Name}' ({b.Bytes.Length} bytes, header ends at {headerEnd}); " +
            $"Load succeeded {oracle.LoadSuccesses}x");
    }

    private static string? Env(string name)
    {
        string? v = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }

    private static int? EnvInt(string name) =>
        Env(name) is string v ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : null;

    private static long? EnvLong(string name) =>
        Env(name) is string v ? long.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : null;

    private static double? EnvDouble(string name) =>
        Env(name) is string v ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) : null;
}

/// <summary>A valid seed file and the schema it was written from.</summary>
internal sealed class FuzzBase
{
    public FuzzBase(string name, ParameterInfo[] schema, int total, byte[] bytes)
    {
        Name = name;
        Schema = schema;
        Total = total;
        Bytes = bytes;
    }

    public string Name { get; }
    public ParameterInfo[] Schema { get; }
    /// <summary>Length of the parameter span the schema addresses.</summary>
    public int Total { get; }
    public byte[] Bytes { get; }
}

internal sealed class FuzzCorpus
{
    private FuzzCorpus(FuzzBase[] bases) => Bases = bases;

    public FuzzBase[] Bases { get; }

    public static FuzzCorpus Create(CheckpointTempDir dir)
    {
        var bases = new List<FuzzBase>();
        FuzzBase Add(string name, ParameterInfo[] schema, int total, float[] values, Dictionary<string, string>? meta)
        {
            string path = dir.File("base-" + name + ".safetensors");
            Safetensors.Save(path, schema, values, meta);
            var b = new FuzzBase(name, schema, total, File.ReadAllBytes(path));
            bases.Add(b);
            return b;
        }

        var lenet = StFile.LeNetSchema(out int lenetTotal);
        Add("lenet", lenet, lenetTotal, StFile.Values(lenetTotal, 1),
            new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "12" });

        Add("scalar-empty", new[]
        {
            new ParameterInfo("scale", Array.Empty<int>(), 0),
            new ParameterInfo("empty", new[] { 0, 3 }, 1),
            new ParameterInfo("w", new[] { 2 }, 1),
        }, 3, new[] { 2.5f, 7f, 8f }, null);

        Add("names", new[]
        {
            new ParameterInfo("layer\"1\".weight", new[] { 2 }, 0),
            new ParameterInfo("back\\slash\tand\nnewline", new[] { 1 }, 2),
            new ParameterInfo("ünïcödé.🚀", new[] { 1 }, 3),
        }, 4, new[] { 1f, 2f, 3f, 4f },
            new Dictionary<string, string> { ["quote\"k"] = "line1\nline2 \u0001", ["unicode"] = "日本語 🚀", ["empty"] = "" });

        float[] scattered = StFile.Values(32, 2);
        scattered[21] = float.NaN;
        scattered[3] = float.NegativeInfinity;
        Add("scattered-nonfinite", new[]
        {
            new ParameterInfo("b.weight", new[] { 3, 2 }, 20),
            new ParameterInfo("a.weight", new[] { 4 }, 2),
            new ParameterInfo("c.bias", new[] { 1 }, 30),
        }, 32, scattered, new Dictionary<string, string> { ["k"] = "v" });

        Add("empty-schema", Array.Empty<ParameterInfo>(), 0, Array.Empty<float>(),
            new Dictionary<string, string> { ["only"] = "metadata" });

        Add("matrix", new[] { new ParameterInfo("m", new[] { 16, 16 }, 0), new ParameterInfo("v", new[] { 16 }, 256) },
            272, StFile.Values(272, 3), new Dictionary<string, string> { ["format"] = "pt" });

        return new FuzzCorpus(bases.ToArray());
    }
}

/// <summary>One mutant: the base it came from, the schema it is loaded with, and how it was made.</summary>
internal sealed class FuzzCase
{
    public FuzzCase(FuzzBase @base, FuzzBase schemaOf, byte[] bytes, bool rejectNonFinite, List<string> log)
    {
        Base = @base;
        SchemaOf = schemaOf;
        Bytes = bytes;
        RejectNonFinite = rejectNonFinite;
        Log = log;
    }

    public FuzzBase Base { get; }
    public FuzzBase SchemaOf { get; }
    public byte[] Bytes { get; }
    public bool RejectNonFinite { get; }
    public List<string> Log { get; }

    public static FuzzCase Generate(FuzzCorpus corpus, int seed, long iteration)
    {
        var rng = new Random(IterationSeed(seed, iteration));
        FuzzBase b = corpus.Bases[rng.Next(corpus.Bases.Length)];
        // Usually the file's own schema; sometimes another one (missing / unexpected tensors, shape mismatches).
        FuzzBase schemaOf = rng.Next(10) == 0 ? corpus.Bases[rng.Next(corpus.Bases.Length)] : b;
        bool reject = rng.Next(2) == 0;
        var log = new List<string>();
        byte[] bytes = b.Bytes;
        int mutations = rng.Next(8) switch { < 4 => 1, < 6 => 2, 6 => 3, _ => 1 + rng.Next(8) };
        for (int i = 0; i < mutations; i++) bytes = FuzzMutator.Mutate(bytes, rng, corpus, log);
        return new FuzzCase(b, schemaOf, bytes, reject, log);
    }

    /// <summary>SplitMix64 of (seed, iteration): independent, reproducible per-iteration seeds.</summary>
    private static int IterationSeed(int seed, long iteration)
    {
        ulong z = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)iteration * 0xD1B54A32D192ED03UL + 1);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return unchecked((int)z);
    }
}

internal static class FuzzMutator
{
    private static readonly byte[] InterestingBytes =
    {
        0x00, 0xFF, 0x7F, 0x80, 0x01, (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':',
        (byte)'-', (byte)'0', (byte)'1', (byte)'2', (byte)'4', (byte)'8', (byte)'9', (byte)' ', (byte)'\\',
        (byte)'e', (byte)'.', (byte)'\n', 0xC0, 0xC3, 0xED, 0xF4, 0xFE,
    };

    private static readonly string[] InterestingNumbers =
    {
        "0", "1", "-1", "4", "8", "24", "600", "-0", "00", "01", "1.5", "1e3", "1E-2", "1e400", "-1e400",
        "2147483647", "2147483648", "-2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999999999", "17179869184",
    };

    private static readonly string[] InterestingStrings =
    {
        "F32", "F16", "BF16", "F64", "I32", "I64", "U8", "BOOL", "f32", "F32 ", "", "F4", "__metadata__",
        "dtype", "shape", "data_offsets", "C1.bias", "w", "\\uD800", "\\u0000", "\\\"", "\\u0046\\u0033\\u0032",
        "\\x", "\\u12", "a\\nb",
    };

    private static readonly uint[] InterestingFloatBits =
    {
        0x7FC0_0000u, 0xFFC0_0000u, 0x7F80_0000u, 0xFF80_0000u, 0x7F80_0001u, 0xFFFF_FFFFu, 0x7F7F_FFFFu,
        0x0000_0001u, 0x8000_0000u, 0x0000_0000u,
    };

    private static readonly ulong[] InterestingLengths =
    {
        0, 1, 2, 7, 8, 99_999_999, 100_000_000, 100_000_001, int.MaxValue, (ulong)int.MaxValue + 1, uint.MaxValue,
        long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue,
    };

    public static byte[] Mutate(byte[] b, Random rng, FuzzCorpus corpus, List<string> log)
    {
        switch (rng.Next(16))
        {
            case 0:
            case 1:
            {
                if (b.Length == 0) goto case 6;
                int pos = Position(b, rng);
                int bit = rng.Next(8);
                byte[] m = (byte[])b.Clone();
                m[pos] ^= (byte)(1 << bit);
                log.Add($"flip bit {bit} of byte {pos}");
                return m;
            }
            case 2:
            case 3:
            {
                if (b.Length == 0) goto case 6;
                int pos = Position(b, rng);
                byte v = rng.Next(4) == 0 ? (byte)rng.Next(256) : InterestingBytes[rng.Next(InterestingBytes.Length)];
                byte[] m = (byte[])b.Clone();
                m[pos] = v;
                log.Add($"byte {pos} = 0x{v:X2}");
                return m;
            }
            case 4:
            {
                int len = rng.Next(3) switch
                {
                    0 => rng.Next(b.Length + 1),
                    1 => Math.Max(0, b.Length - 1 - rng.Next(8)),
                    _ => Math.Min(b.Length, rng.Next(Math.Min(b.Length, HeaderEnd(b)) + 1)),
                };
                log.Add($"truncate to {len}");
                return b.AsSpan(0, len).ToArray();
            }
            case 5:
            {
                int pos = rng.Next(b.Length + 1);
                int n = 1 + rng.Next(rng.Next(4) == 0 ? 64 : 8);
                var ins = new byte[n];
                if (rng.Next(2) == 0) rng.NextBytes(ins);
                else for (int i = 0; i < n; i++) ins[i] = InterestingBytes[rng.Next(InterestingBytes.Length)];
                log.Add($"insert {n} bytes at {pos}");
                return Splice(b, pos, 0, ins);
            }
            case 6:
            {
                if (b.Length == 0)
                {
                    log.Add("append 8 bytes");
                    return new byte[8];
                }
                int pos = rng.Next(b.Length);
                int n = Math.Min(b.Length - pos, 1 + rng.Next(rng.Next(4) == 0 ? 64 : 8));
                log.Add($"delete {n} bytes at {pos}");
                return Splice(b, pos, n, Array.Empty<byte>());
            }
            case 7:
            {
                // Splice a chunk of another valid file in.
                byte[] donor = corpus.Bases[rng.Next(corpus.Bases.Length)].Bytes;
                if (donor.Length == 0) goto case 5;
                int from = rng.Next(donor.Length);
                int n = Math.Min(donor.Length - from, 1 + rng.Next(64));
                int pos = rng.Next(b.Length + 1);
                int replace = rng.Next(2) == 0 ? 0 : Math.Min(b.Length - pos, n);
                log.Add($"splice {n} donor bytes [{from}..] at {pos} replacing {replace}");
                return Splice(b, pos, replace, donor.AsSpan(from, n).ToArray());
            }
            case 8:
            {
                // Rewrite the header length.
                byte[] m = b.Length >= 8 ? (byte[])b.Clone() : Splice(b, b.Length, 0, new byte[8 - b.Length]);
                ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(m);
                ulong v = rng.Next(5) switch
                {
                    0 => InterestingLengths[rng.Next(InterestingLengths.Length)],
                    1 => unchecked(actual + (ulong)(rng.Next(33) - 16)),
                    2 => (ulong)(m.Length - 8 + rng.Next(3) - 1),
                    3 => unchecked((ulong)rng.NextInt64()),
                    _ => unchecked(actual ^ (1UL << rng.Next(64))),
                };
                BinaryPrimitives.WriteUInt64LittleEndian(m, v);
                log.Add($"header length = {v}");
                return m;
            }
            case 9:
            {
                // Non-finite or extreme float in the data.
                int start = HeaderEnd(b);
                int slots = (b.Length - start) / 4;
                if (slots <= 0) goto case 2;
                int pos = start + 4 * rng.Next(slots);
                uint bits = InterestingFloatBits[rng.Next(InterestingFloatBits.Length)];
                byte[] m = (byte[])b.Clone();
                BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(pos), bits);
                log.Add($"float at {pos} = 0x{bits:X8}");
                return m;
            }
            default:
                return JsonEdit(b, rng, log);
        }
    }

    /// <summary>A position biased towards the length prefix and the header, where the structure lives.</summary>
    private static int Position(byte[] b, Random rng)
    {
        int header = Math.Min(b.Length, HeaderEnd(b));
        return rng.Next(10) < 7 && header > 0 ? rng.Next(header) : rng.Next(b.Length);
    }

    /// <summary>End of the header as far as the (possibly mutated) length prefix and the file allow.</summary>
    private static int HeaderEnd(byte[] b)
    {
        if (b.Length < 8) return b.Length;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(b);
        return (int)Math.Min((ulong)b.Length, 8 + Math.Min(n, (ulong)b.Length));
    }

    private static byte[] Splice(byte[] b, int pos, int remove, byte[] insert)
    {
        var m = new byte[b.Length - remove + insert.Length];
        b.AsSpan(0, pos).CopyTo(m);
        insert.CopyTo(m, pos);
        b.AsSpan(pos + remove).CopyTo(m.AsSpan(pos + insert.Length));
        return m;
    }

    // ------------------------------------------------------------------ JSON-aware edits

    private readonly record struct Token(char Kind, int Start, int Length)
    {
        public int End => Start + Length;
    }

    /// <summary>A forgiving tokenizer (works on broken JSON): strings, numbers, punctuation.</summary>
    private static List<Token> Tokenize(ReadOnlySpan<byte> h)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < h.Length)
        {
            byte c = h[i];
            if (c == (byte)'"')
            {
                int j = i + 1;
                while (j < h.Length && h[j] != (byte)'"') j += h[j] == (byte)'\\' ? 2 : 1;
                int end = Math.Min(j + 1, h.Length);
                tokens.Add(new Token('s', i, end - i));
                i = end;
            }
            else if (c == (byte)'-' || (c >= (byte)'0' && c <= (byte)'9'))
            {
                int j = i + 1;
                while (j < h.Length && (h[j] is (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E' || (h[j] >= (byte)'0' && h[j] <= (byte)'9'))) j++;
                tokens.Add(new Token('n', i, j - i));
                i = j;
            }
            else if (c is (byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)',' or (byte)':')
            {
                tokens.Add(new Token((char)c, i, 1));
                i++;
            }
            else i++;
        }
        return tokens;
    }

    /// <summary>Members whose value is an object or array: key token index and the index one past the value.</summary>
    private static List<(int Key, int EndToken)> Members(List<Token> t)
    {
        var result = new List<(int, int)>();
        for (int k = 0; k + 2 < t.Count; k++)
        {
            if (t[k].Kind != 's' || t[k + 1].Kind != ':' || (t[k + 2].Kind != '{' && t[k + 2].Kind != '[')) continue;
            int depth = 0;
            for (int j = k + 2; j < t.Count; j++)
            {
                char kind = t[j].Kind;
                if (kind is '{' or '[') depth++;
                else if (kind is '}' or ']' && --depth == 0)
                {
                    result.Add((k, j + 1));
                    break;
                }
            }
        }
        return result;
    }

    private static byte[] JsonEdit(byte[] b, Random rng, List<string> log)
    {
        if (b.Length < 8) return b;
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(b);
        int headerEnd = HeaderEnd(b);
        byte[] h = b.AsSpan(8, headerEnd - 8).ToArray();
        byte[] data = b.AsSpan(headerEnd).ToArray();
        List<Token> t = Tokenize(h);
        if (t.Count == 0) return b;

        byte[] edited;
        string what;
        var numbers = t.Where(x => x.Kind == 'n').ToList();
        var strings = t.Where(x => x.Kind == 's').ToList();
        var members = Members(t);
        int op = rng.Next(9);
        if (op == 0 && numbers.Count > 0)
        {
            Token n = numbers[rng.Next(numbers.Count)];
            // Nudge the number by a little (off-by-N offsets and shapes), or replace it with an interesting one.
            string v = rng.Next(3) == 0 && long.TryParse(Encoding.ASCII.GetString(h, n.Start, n.Length),
                NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long old)
                ? unchecked(old + rng.Next(-8, 9)).ToString(CultureInfo.InvariantCulture)
                : InterestingNumbers[rng.Next(InterestingNumbers.Length)];
            edited = Replace(h, n.Start, n.Length, v);
            what = $"number at {n.Start} = {v}";
        }
        else if (op == 1 && strings.Count > 0)
        {
            Token s = strings[rng.Next(strings.Count)];
            byte[] v;
            if (rng.Next(2) == 0)
            {
                Token other = strings[rng.Next(strings.Count)]; // e.g. a tensor name copied over another: duplicate
                v = h.AsSpan(other.Start, other.Length).ToArray();
            }
            else v = Encoding.UTF8.GetBytes("\"" + InterestingStrings[rng.Next(InterestingStrings.Length)] + "\"");
            edited = Splice(h, s.Start, s.Length, v);
            what = $"string at {s.Start} = {Encoding.UTF8.GetString(v)}";
        }
        else if (op == 2)
        {
            var structural = t.Where(x => x.Kind != 'n' && x.Kind != 's').ToList();
            if (structural.Count == 0) return b;
            Token p = structural[rng.Next(structural.Count)];
            edited = Splice(h, p.Start, 1, Array.Empty<byte>());
            what = $"delete '{(char)h[p.Start]}' at {p.Start}";
        }
        else if (op == 3 && numbers.Count > 1)
        {
            Token x = numbers[rng.Next(numbers.Count)], y = numbers[rng.Next(numbers.Count)];
            if (x.Start > y.Start) (x, y) = (y, x);
            if (x.Start == y.Start) return b;
            byte[] xs = h.AsSpan(x.Start, x.Length).ToArray(), ys = h.AsSpan(y.Start, y.Length).ToArray();
            edited = Splice(Splice(h, y.Start, y.Length, xs), x.Start, x.Length, ys);
            what = $"swap numbers at {x.Start} and {y.Start}";
        }
        else if (op == 4 && members.Count > 0)
        {
            // Duplicate a member (tensor, metadata or field): a repeated key.
            var (k, e) = members[rng.Next(members.Count)];
            byte[] member = h.AsSpan(t[k].Start, t[e - 1].End - t[k].Start).ToArray();
            int at = rng.Next(2) == 0 ? t[e - 1].End : t[k].Start;
            byte[] ins = at == t[k].Start ? member.Append((byte)',').ToArray() : new[] { (byte)',' }.Concat(member).ToArray();
            edited = Splice(h, at, 0, ins);
            what = $"duplicate member at {t[k].Start}";
        }
        else if (op == 5 && members.Count > 0)
        {
            // Remove a member and one neighbouring comma: a missing tensor (or field).
            var (k, e) = members[rng.Next(members.Count)];
            int start = t[k].Start, end = t[e - 1].End;
            if (e < t.Count && t[e].Kind == ',') end = t[e].End;
            else if (k > 0 && t[k - 1].Kind == ',') start = t[k - 1].Start;
            edited = Splice(h, start, end - start, Array.Empty<byte>());
            what = $"remove member at {t[k].Start}";
        }
        else if (op == 6 && members.Count > 0)
        {
            // Add a copy of a member under a fresh name: an extra tensor.
            var (k, e) = members[rng.Next(members.Count)];
            byte[] value = h.AsSpan(t[k + 2].Start, t[e - 1].End - t[k + 2].Start).ToArray();
            int brace = t.FindIndex(x => x.Kind == '{');
            if (brace < 0) return b;
            byte[] ins = Encoding.UTF8.GetBytes($"\"extra{rng.Next(3)}\":").Concat(value).Append((byte)',').ToArray();
            edited = Splice(h, t[brace].End, 0, ins);
            what = $"add extra member copied from {t[k].Start}";
        }
        else if (op == 7)
        {
            // Insert a token after a random token.
            Token after = t[rng.Next(t.Count)];
            string[] insertions = { ",", ":", "{", "}", "[", "]", "\"", "null", "true", "0", "-", "\"x\":", ",\"x\":1", "[]", "{}", " " };
            string v = insertions[rng.Next(insertions.Length)];
            edited = Replace(h, after.End, 0, v);
            what = $"insert '{v}' at {after.End}";
        }
        else
        {
            // Nest or unwrap: replace an array/object value with a scalar or vice versa.
            if (members.Count == 0) return b;
            var (k, e) = members[rng.Next(members.Count)];
            string[] values = { "[]", "{}", "null", "0", "\"F32\"", "[0,0]", "[[0]]", "{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}" };
            string v = values[rng.Next(values.Length)];
            int start = t[k + 2].Start;
            edited = Replace(h, start, t[e - 1].End - start, v);
            what = $"value of member at {t[k].Start} = {v}";
        }

        // Usually keep the length prefix consistent, so the edit reaches the JSON parser and beyond.
        bool fix = rng.Next(5) != 0;
        bool pad = fix && rng.Next(2) == 0;
        int padded = pad ? (edited.Length + 7) / 8 * 8 : edited.Length;
        ulong length = fix ? (ulong)padded : declared;
        var m = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(m, length);
        edited.CopyTo(m, 8);
        m.AsSpan(8 + edited.Length, padded - edited.Length).Fill((byte)' ');
        data.CopyTo(m, 8 + padded);
        log.Add($"json: {what}{(fix ? $" (length {length})" : " (length kept)")}");
        return m;
    }

    private static byte[] Replace(byte[] h, int start, int length, string ascii) =>
        Splice(h, start, length, Encoding.UTF8.GetBytes(ascii));
}

/// <summary>Runs one mutant through ReadHeader, ReadMetadata and Load, and checks every outcome.</summary>
internal sealed class FuzzOracle
{
    private static readonly Regex Elide = new("'[^']*'|(?<![\\w-])\\d+", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    private readonly string _path;

    public FuzzOracle(string path) => _path = path;

    public long LoadSuccesses { get; private set; }
    public long HeaderSuccesses { get; private set; }
    public Dictionary<string, long> Kinds { get; } = new(StringComparer.Ordinal);
    public string LastOutcome { get; private set; } = "";
    public CheckpointException? LastLoadException { get; private set; }

    /// <summary>Null when every outcome is acceptable; otherwise what went wrong.</summary>
    public string? Check(FuzzCase c)
    {
        File.WriteAllBytes(_path, c.Bytes);
        LastLoadException = null;

        // ReadHeader
        IReadOnlyList<SafetensorsEntry>? entries = null;
        CheckpointException? headerError = null;
        try
        {
            entries = Safetensors.ReadHeader(_path);
            HeaderSuccesses++;
        }
        catch (CheckpointException ex)
        {
            headerError = ex;
            if (CheckException(ex) is string bad) return "ReadHeader: " + bad;
        }
        catch (Exception ex)
        {
            return "ReadHeader threw something other than CheckpointException: " + ex;
        }

        // ReadMetadata must agree with ReadHeader.
        try
        {
            Safetensors.ReadMetadata(_path);
            if (headerError is not null) return "ReadMetadata succeeded but ReadHeader threw: " + headerError;
        }
        catch (CheckpointException ex)
        {
            if (CheckException(ex) is string bad) return "ReadMetadata: " + bad;
            if (headerError is null) return "ReadMetadata threw but ReadHeader succeeded: " + ex;
            if (ex.Message != headerError.Message) return $"ReadMetadata and ReadHeader disagree: '{ex.Message}' vs '{headerError.Message}'";
        }
        catch (Exception ex)
        {
            return "ReadMetadata threw something other than CheckpointException: " + ex;
        }

        long dataStart = 0;
        if (entries is not null)
        {
            dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(c.Bytes);
            if (CheckEntries(entries, c.Bytes.Length - dataStart) is string bad) return "ReadHeader returned an inconsistent header: " + bad;
        }

        // Load
        FuzzBase s = c.SchemaOf;
        float[] dest = StFile.Sentinel(s.Total);
        try
        {
            Safetensors.Load(_path, s.Schema, dest, c.RejectNonFinite);
        }
        catch (CheckpointException ex)
        {
            LastLoadException = ex;
            if (CheckException(ex) is string bad) return "Load: " + bad;
            float[] sentinel = StFile.Sentinel(s.Total);
            for (int i = 0; i < dest.Length; i++)
            {
                if (BitConverter.SingleToUInt32Bits(dest[i]) != BitConverter.SingleToUInt32Bits(sentinel[i]))
                    return $"Load threw ({ex.Message}) but changed the destination at element {i}";
            }
            Count(ex);
            LastOutcome = "Load threw: " + ex.Message;
            return null;
        }
        catch (Exception ex)
        {
            return "Load threw something other than CheckpointException: " + ex;
        }

        // Load succeeded: the header must be valid, match the schema exactly, and the values must be the file's bytes.
        LoadSuccesses++;
        LastOutcome = "Load succeeded";
        if (entries is null) return "Load succeeded but ReadHeader threw: " + headerError;
        if (entries.Count != s.Schema.Length) return $"Load succeeded but the file has {entries.Count} tensors and the schema {s.Schema.Length}";
        var touched = new bool[s.Total];
        foreach (ParameterInfo p in s.Schema)
        {
            SafetensorsEntry? e = entries.FirstOrDefault(x => x.Name == p.Name);
            if (e is null) return $"Load succeeded but tensor '{p.Name}' is not in the header";
            if (e.DType != "F32") return $"Load succeeded with dtype {e.DType} for '{p.Name}'";
            if (!e.Shape.SequenceEqual(p.Shape)) return $"Load succeeded with shape {Safetensors.FormatShape(e.Shape)} for '{p.Name}'";
            if (e.ByteLength != 4L * p.Length) return $"Load succeeded with {e.ByteLength} bytes for '{p.Name}'";
            for (int i = 0; i < p.Length; i++)
            {
                uint expected = BinaryPrimitives.ReadUInt32LittleEndian(c.Bytes.AsSpan((int)(dataStart + e.Begin) + 4 * i));
                uint actual = BitConverter.SingleToUInt32Bits(dest[p.Offset + i]);
                if (expected != actual) return $"'{p.Name}'[{i}] loaded as 0x{actual:X8} but the file holds 0x{expected:X8}";
                if (c.RejectNonFinite && !float.IsFinite(dest[p.Offset + i])) return $"rejectNonFinite loaded non-finite '{p.Name}'[{i}]";
                touched[p.Offset + i] = true;
            }
        }
        float[] untouched = StFile.Sentinel(s.Total);
        for (int i = 0; i < s.Total; i++)
        {
            if (!touched[i] && dest[i] != untouched[i]) return $"Load wrote element {i}, outside every tensor";
        }
        return null;
    }

    private string? CheckException(CheckpointException ex)
    {
        if (ex.FilePath != _path) return $"FilePath is '{ex.FilePath}', not the file: {ex}";
        if (ex.Message != _path + ": " + ex.Problem) return $"message does not start with the path: {ex}";
        if (string.IsNullOrWhiteSpace(ex.Problem)) return "empty problem: " + ex;
        if (ex.TensorName is not null && !ex.Problem.Contains("'" + ex.TensorName + "'", StringComparison.Ordinal))
            return $"TensorName '{ex.TensorName}' is not named in the problem: {ex}";
        if (ex.InnerException is not null && ex.InnerException is not (System.Text.Json.JsonException or InvalidOperationException))
            return "unexpected inner exception: " + ex;
        return null;
    }

    private void Count(CheckpointException ex)
    {
        string kind = Elide.Replace(ex.Problem, m => m.Value[0] == '\'' ? "'…'" : "N");
        int colon = kind.IndexOf(": ", StringComparison.Ordinal);
        if (kind.StartsWith("header is not valid JSON", StringComparison.Ordinal) && colon > 0)
            kind = kind[..colon] + ": …"; // System.Text.Json's own wording varies widely
        Kinds[kind] = Kinds.TryGetValue(kind, out long n) ? n + 1 : 1;
    }

    /// <summary>What a successful ReadHeader promises: contiguous, in-bounds, non-overlapping, unique, size-consistent.</summary>
    private static string? CheckEntries(IReadOnlyList<SafetensorsEntry> entries, long dataSize)
    {
        long expected = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SafetensorsEntry e in entries)
        {
            if (!names.Add(e.Name)) return $"duplicate name '{e.Name}'";
            if (e.Name == "__metadata__") return "a tensor named __metadata__";
            if (e.Begin != expected) return $"'{e.Name}' begins at {e.Begin}, expected {expected}";
            if (e.End < e.Begin) return $"'{e.Name}' ends before it begins";
            if (e.Shape.Any(d => d < 0)) return $"'{e.Name}' has a negative dimension";
            if (e.DType == "F32")
            {
                long numel = 1;
                foreach (int d in e.Shape) numel *= d;
                if (e.ByteLength != numel * 4) return $"'{e.Name}' has {e.ByteLength} bytes for {numel} F32 elements";
            }
            expected = e.End;
        }
        if (expected != dataSize) return $"tensors end at {expected} but the data has {dataSize} bytes";
        return null;
    }
}
