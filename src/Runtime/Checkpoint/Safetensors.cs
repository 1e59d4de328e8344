using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;

namespace NetGen;

/// <summary>
/// Reads and writes network parameters as <see href="https://github.com/huggingface/safetensors">safetensors</see> files:
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON header, then the raw little-endian tensor data.
/// Only F32 tensors are written and loaded. No reflection: the header is written by hand and parsed with
/// <see cref="Utf8JsonReader"/>, so this is NativeAOT/trimming safe.
/// </summary>
public static class Safetensors
{
    /// <summary>Largest header accepted (the same limit as the reference Rust implementation).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Bytes per read/write call for tensor data (keeps spans well below int.MaxValue).</summary>
    private const int ChunkBytes = 1 << 26;

    // ------------------------------------------------------------------ Save

    /// <summary>
    /// Writes the tensors of <paramref name="schema"/> (in schema order, dtype F32) taken from
    /// <paramref name="parameters"/> to <paramref name="path"/>, with optional string metadata.
    /// The header is padded with spaces to a multiple of 8 bytes so the data buffer is 8-byte aligned.
    /// The write is atomic: data goes to a temporary file in the same directory, is flushed to disk and then
    /// renamed over <paramref name="path"/>; on failure the temporary file is deleted and an existing file at
    /// <paramref name="path"/> is left untouched. The directory is created if missing.
    /// </summary>
    /// <exception cref="ArgumentException">The schema is invalid (null entries, duplicate names, a name equal to
    /// <c>__metadata__</c>, ranges outside <paramref name="parameters"/>) or a string is not valid UTF-16.</exception>
    public static void Save(string path, ReadOnlySpan<ParameterInfo> schema, ReadOnlySpan<float> parameters,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ValidateSchema(schema, parameters.Length, nameof(parameters));
        byte[] header = BuildHeader(schema, metadata);

        using var file = NetGen.IO.AtomicFile.Create(path);
        Stream stream = file.Stream;
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        for (int i = 0; i < schema.Length; i++)
        {
            ParameterInfo p = schema[i];
            WriteFloats(stream, parameters.Slice(p.Offset, p.Length));
        }
        file.Commit();
    }

    // ------------------------------------------------------------------ Load

    /// <summary>
    /// Loads the tensors of <paramref name="schema"/> from <paramref name="path"/> into <paramref name="parameters"/>.
    /// The whole file is validated against the schema, and all data is read into a temporary buffer, before
    /// <paramref name="parameters"/> is written; a failed load leaves <paramref name="parameters"/> unchanged.
    /// Tensors may appear in any order in the file; the header need not be padded.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">The file is malformed or does not match the schema.</exception>
    /// <exception cref="ArgumentException">The schema is invalid or does not fit in <paramref name="parameters"/>.</exception>
    public static void Load(string path, ReadOnlySpan<ParameterInfo> schema, Span<float> parameters) =>
        Load(path, schema, parameters, rejectNonFinite: false);

    /// <summary>
    /// Loads the tensors of <paramref name="schema"/> from <paramref name="path"/> into <paramref name="parameters"/>,
    /// as <see cref="Load(string, ReadOnlySpan{ParameterInfo}, Span{float})"/> does; with
    /// <paramref name="rejectNonFinite"/> the load also fails (leaving <paramref name="parameters"/> unchanged) when
    /// any loaded value is NaN or infinite, naming the tensor and the index of its first non-finite element.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">The file is malformed, does not match the schema, or (with
    /// <paramref name="rejectNonFinite"/>) holds a NaN or infinity.</exception>
    /// <exception cref="ArgumentException">The schema is invalid or does not fit in <paramref name="parameters"/>.</exception>
    public static void Load(string path, ReadOnlySpan<ParameterInfo> schema, Span<float> parameters, bool rejectNonFinite)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        HashSet<string> schemaNames = ValidateSchema(schema, parameters.Length, nameof(parameters));

        using SafeFileHandle handle = OpenForRead(path);
        ParsedFile file = Parse(handle, path);

        long total = 0;
        for (int i = 0; i < schema.Length; i++)
        {
            ParameterInfo p = schema[i];
            if (!file.ByName.TryGetValue(p.Name, out SafetensorsEntry? e))
                throw Fail(path, p.Name, $"missing tensor '{p.Name}'");
            if (e.DType != "F32")
                throw Fail(path, p.Name, $"tensor '{p.Name}' has dtype {e.DType}; only F32 is supported");
            if (!e.Shape.AsSpan().SequenceEqual(p.Shape))
                throw Fail(path, p.Name,
                    $"tensor '{p.Name}' has shape {FormatShape(e.Shape)} but the network expects {FormatShape(p.Shape)}");
            // Parse() already checked End - Begin == numel * 4 for F32; re-check against the schema length.
            if (e.ByteLength != (long)p.Length * sizeof(float))
                throw Fail(path, p.Name,
                    $"tensor '{p.Name}' has {e.ByteLength} bytes of data but the network expects {(long)p.Length * sizeof(float)}");
            total += p.Length;
        }
        foreach (SafetensorsEntry e in file.Entries)
        {
            if (!schemaNames.Contains(e.Name) && !IsTorchBatchCounter(e))
                throw Fail(path, e.Name, $"unexpected tensor '{e.Name}' (not in the network)");
        }

        if (total > Array.MaxLength)
            throw new ArgumentException("The schema's tensors together are too large to stage in memory.", nameof(schema));

        // Stage everything first, so an I/O error or a file that changes underneath us loses nothing.
        float[] staging = GC.AllocateUninitializedArray<float>((int)total);
        int pos = 0;
        for (int i = 0; i < schema.Length; i++)
        {
            ParameterInfo p = schema[i];
            SafetensorsEntry e = file.ByName[p.Name];
            ReadFloats(handle, path, p.Name, file.DataStart + e.Begin, staging.AsSpan(pos, p.Length));
            pos += p.Length;
        }

        if (rejectNonFinite)
        {
            pos = 0;
            for (int i = 0; i < schema.Length; i++)
            {
                ParameterInfo p = schema[i];
                ReadOnlySpan<float> values = staging.AsSpan(pos, p.Length);
                int bad = IndexOfNonFinite(values);
                if (bad >= 0)
                {
                    float v = values[bad];
                    string kind = float.IsNaN(v) ? "NaN" : v > 0 ? "+Infinity" : "-Infinity";
                    throw Fail(path, p.Name,
                        $"tensor '{p.Name}' has a non-finite value ({kind}) at element {bad} (index {FormatIndex(bad, p.Shape)})");
                }
                pos += p.Length;
            }
        }

        pos = 0;
        for (int i = 0; i < schema.Length; i++)
        {
            ParameterInfo p = schema[i];
            staging.AsSpan(pos, p.Length).CopyTo(parameters.Slice(p.Offset, p.Length));
            pos += p.Length;
        }
    }

    /// <summary>Index of the first NaN or infinity in <paramref name="values"/>, or -1 when all are finite.</summary>
    internal static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        // A float is NaN or infinite exactly when all exponent bits are set.
        const uint ExponentMask = 0x7F80_0000u;
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(values);
        int i = 0;
        if (Vector.IsHardwareAccelerated && bits.Length >= Vector<uint>.Count)
        {
            var mask = new Vector<uint>(ExponentMask);
            for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
            {
                if (Vector.EqualsAny(new Vector<uint>(bits[i..]) & mask, mask)) break;
            }
        }
        for (; i < bits.Length; i++)
        {
            if ((bits[i] & ExponentMask) == ExponentMask) return i;
        }
        return -1;
    }

    /// <summary>The row-major multi-dimensional index of flat element <paramref name="flat"/>, e.g. <c>[0, 0, 3, 2]</c>.</summary>
    private static string FormatIndex(int flat, int[] shape)
    {
        if (shape.Length == 0) return "[]";
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return FormatShape(index);
    }

    // ------------------------------------------------------------------ Inspection

    /// <summary>
    /// Reads and validates the header of a safetensors file (any dtype) and returns its tensors,
    /// ordered by position in the data buffer.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">The file is malformed.</exception>
    public static IReadOnlyList<SafetensorsEntry> ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SafeFileHandle handle = OpenForRead(path);
        return Parse(handle, path).Entries;
    }

    /// <summary>
    /// Reads and validates the header of a safetensors file and returns its <c>__metadata__</c>
    /// (empty when the file has none).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">The file is malformed.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SafeFileHandle handle = OpenForRead(path);
        return Parse(handle, path).Metadata;
    }

    // ------------------------------------------------------------------ Schema

    /// <summary>
    /// PyTorch's BatchNorm keeps <c>num_batches_tracked</c>, an int64 scalar used only with <c>momentum=None</c>;
    /// NetGen has no such state, so a torchvision state_dict's counters are skipped on load (nothing else extra is).
    /// </summary>
    private static bool IsTorchBatchCounter(SafetensorsEntry e) =>
        e.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal) && e.DType == "I64" && e.Shape.Length == 0;

    private static HashSet<string> ValidateSchema(ReadOnlySpan<ParameterInfo> schema, int parameterCount, string parametersName)
    {
        var names = new HashSet<string>(schema.Length, StringComparer.Ordinal);
        for (int i = 0; i < schema.Length; i++)
        {
            ParameterInfo p = schema[i] ?? throw new ArgumentException($"schema[{i}] is null.", nameof(schema));
            if (p.Name == MetadataKey)
                throw new ArgumentException($"schema[{i}]: '{MetadataKey}' is reserved and cannot be a tensor name.", nameof(schema));
            if (!names.Add(p.Name))
                throw new ArgumentException($"schema[{i}]: duplicate tensor name '{p.Name}'.", nameof(schema));
            foreach (int d in p.Shape)
            {
                if (d < 0)
                    throw new ArgumentException($"schema[{i}]: tensor '{p.Name}' has a negative dimension in shape {FormatShape(p.Shape)}.", nameof(schema));
            }
            if (p.Offset < 0 || (long)p.Offset + p.Length > parameterCount)
                throw new ArgumentException(
                    $"Tensor '{p.Name}' occupies elements [{p.Offset}, {(long)p.Offset + p.Length}) but the parameter span has only {parameterCount} elements.",
                    parametersName);
        }
        return names;
    }

    // ------------------------------------------------------------------ Writing helpers

    private static byte[] BuildHeader(ReadOnlySpan<ParameterInfo> schema, IReadOnlyDictionary<string, string>? metadata)
    {
        var sb = new StringBuilder(64 + 96 * schema.Length);
        sb.Append('{');
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            sb.Append("\"__metadata__\":{");
            bool firstPair = true;
            foreach (KeyValuePair<string, string> kv in metadata)
            {
                if (kv.Value is null)
                    throw new ArgumentException($"Metadata value for key '{kv.Key}' is null.", nameof(metadata));
                if (!firstPair) sb.Append(',');
                firstPair = false;
                AppendJsonString(sb, kv.Key, nameof(metadata));
                sb.Append(':');
                AppendJsonString(sb, kv.Value, nameof(metadata));
            }
            sb.Append('}');
            first = false;
        }

        long offset = 0;
        for (int i = 0; i < schema.Length; i++)
        {
            ParameterInfo p = schema[i];
            if (!first) sb.Append(',');
            first = false;
            AppendJsonString(sb, p.Name, nameof(schema));
            sb.Append(":{\"dtype\":\"F32\",\"shape\":[");
            for (int d = 0; d < p.Shape.Length; d++)
            {
                if (d > 0) sb.Append(',');
                AppendInteger(sb, p.Shape[d]);
            }
            sb.Append("],\"data_offsets\":[");
            AppendInteger(sb, offset);
            sb.Append(',');
            offset += (long)p.Length * sizeof(float);
            AppendInteger(sb, offset);
            sb.Append("]}");
        }
        sb.Append('}');

        // Strings were checked for unpaired surrogates, so plain UTF-8 encoding is lossless.
        string json = sb.ToString();
        int length = Encoding.UTF8.GetByteCount(json);
        long padded = ((long)length + 7) & ~7L;
        if (padded > MaxHeaderLength)
            throw new ArgumentException($"The safetensors header would be {padded} bytes, over the {MaxHeaderLength}-byte limit.", nameof(schema));
        byte[] bytes = new byte[padded];
        Encoding.UTF8.GetBytes(json, bytes);
        bytes.AsSpan(length).Fill((byte)' ');
        return bytes;
    }

    private static void AppendInteger(StringBuilder sb, long value)
    {
        Span<char> buffer = stackalloc char[20];
        value.TryFormat(buffer, out int written, default, CultureInfo.InvariantCulture);
        sb.Append(buffer[..written]);
    }

    /// <summary>Appends <paramref name="s"/> as a JSON string literal (RFC 8259 escaping; non-ASCII kept as UTF-8).</summary>
    private static void AppendJsonString(StringBuilder sb, string s, string paramName)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20)
                    {
                        sb.Append("\\u00");
                        sb.Append("0123456789abcdef"[c >> 4]);
                        sb.Append("0123456789abcdef"[c & 0xF]);
                    }
                    else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                    {
                        sb.Append(c).Append(s[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        throw new ArgumentException(
                            $"String '{s.Replace(c, '\uFFFD')}' contains an unpaired surrogate (U+{(int)c:X4}) and cannot be written as UTF-8.",
                            paramName);
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            const int chunk = ChunkBytes / sizeof(float);
            while (!values.IsEmpty)
            {
                int n = Math.Min(values.Length, chunk);
                stream.Write(MemoryMarshal.AsBytes(values[..n]));
                values = values[n..];
            }
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int perChunk = buffer.Length / sizeof(float);
            while (!values.IsEmpty)
            {
                int n = Math.Min(values.Length, perChunk);
                for (int i = 0; i < n; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * sizeof(float)), values[i]);
                stream.Write(buffer, 0, n * sizeof(float));
                values = values[n..];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // ------------------------------------------------------------------ Reading helpers

    private sealed class ParsedFile
    {
        public ParsedFile(SafetensorsEntry[] entries, Dictionary<string, SafetensorsEntry> byName,
            Dictionary<string, string> metadata, long dataStart)
        {
            Entries = entries;
            ByName = byName;
            Metadata = metadata;
            DataStart = dataStart;
        }

        /// <summary>Sorted by position in the data buffer.</summary>
        public SafetensorsEntry[] Entries { get; }
        public Dictionary<string, SafetensorsEntry> ByName { get; }
        public Dictionary<string, string> Metadata { get; }
        /// <summary>File offset of the data buffer: 8 + header length.</summary>
        public long DataStart { get; }
    }

    private static SafeFileHandle OpenForRead(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException ex)
        {
            throw new FileNotFoundException($"Safetensors file not found: {path}", path, ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new FileNotFoundException($"Safetensors file not found: {path}", path, ex);
        }
    }

    private static CheckpointException Fail(string path, string? tensor, string problem, Exception? inner = null) =>
        new(path, tensor, problem, inner);

    /// <summary>Reads the header and validates the file's structure (but not against any schema).</summary>
    private static ParsedFile Parse(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw Fail(path, null, $"file is truncated: it has only {fileLength} bytes, too few for the 8-byte header length");

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(handle, path, null, 0, prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        long remaining = fileLength - 8;
        if (headerLength > (ulong)remaining)
            throw Fail(path, null, $"file is truncated: header says {headerLength} bytes but only {remaining} remain");
        if (headerLength > MaxHeaderLength)
            throw Fail(path, null, $"header length {headerLength} bytes exceeds the {MaxHeaderLength}-byte limit");
        if (headerLength == 0)
            throw Fail(path, null, "header is empty (length 0); expected a JSON object");

        int n = (int)headerLength;
        byte[] rented = ArrayPool<byte>.Shared.Rent(n);
        List<SafetensorsEntry> entries;
        Dictionary<string, SafetensorsEntry> byName;
        Dictionary<string, string> metadata;
        try
        {
            ReadExactly(handle, path, null, 8, rented.AsSpan(0, n));
            ParseHeaderJson(rented.AsSpan(0, n), path, out entries, out byName, out metadata);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        long dataStart = 8 + n;
        long dataSize = fileLength - dataStart;

        SafetensorsEntry[] sorted = entries.ToArray();
        Array.Sort(sorted, static (a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        SafetensorsEntry? last = null;
        foreach (SafetensorsEntry e in sorted)
        {
            if (last is null || e.End > last.End) last = e;
        }
        long dataEnd = last?.End ?? 0;
        if (dataEnd > dataSize)
            throw Fail(path, last!.Name,
                $"file is truncated: tensor '{last.Name}' ends at byte {dataEnd} of the data but only {dataSize} bytes remain after the header");

        long expected = 0;
        SafetensorsEntry? previous = null;
        foreach (SafetensorsEntry e in sorted)
        {
            if (e.Begin > expected)
            {
                throw Fail(path, e.Name, previous is null
                    ? $"tensor data has a gap: the first tensor '{e.Name}' begins at byte {e.Begin} instead of 0"
                    : $"tensor data has a gap of {e.Begin - expected} bytes between tensor '{previous.Name}' (ends at {expected}) and tensor '{e.Name}' (begins at {e.Begin})");
            }
            if (e.Begin < expected)
            {
                throw Fail(path, e.Name,
                    $"tensor '{e.Name}' (data_offsets [{e.Begin}, {e.End}]) overlaps tensor '{previous!.Name}' (data_offsets [{previous.Begin}, {previous.End}])");
            }
            expected = e.End;
            previous = e;
        }

        if (dataEnd < dataSize)
            throw Fail(path, null,
                $"file has {dataSize - dataEnd} unexpected bytes after the tensor data (expected {dataStart + dataEnd} bytes in total, found {fileLength})");

        return new ParsedFile(sorted, byName, metadata, dataStart);
    }

    private static void ParseHeaderJson(ReadOnlySpan<byte> json, string path,
        out List<SafetensorsEntry> entries, out Dictionary<string, SafetensorsEntry> byName,
        out Dictionary<string, string> metadata)
    {
        entries = new List<SafetensorsEntry>();
        byName = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        Dictionary<string, string>? meta = null;
        var shapeScratch = new List<int>(8);

        // The whole header must be UTF-8, as the reference implementation requires. Utf8JsonReader rejects invalid
        // bytes too, but with a message that varies by place; checking first gives one message with the position.
        if (!Utf8.IsValid(json))
            throw Fail(path, null, $"header is not valid UTF-8 (invalid byte sequence at header byte {IndexOfInvalidUtf8(json)})");

        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        try
        {
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Fail(path, null, $"header is not a JSON object (it starts with {DescribeToken(reader.TokenType)})");

            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string key = reader.GetString()!;
                Next(ref reader);
                if (key == MetadataKey)
                {
                    if (meta is not null) throw Fail(path, null, $"header has '{MetadataKey}' more than once");
                    meta = ParseMetadata(ref reader, path);
                }
                else
                {
                    if (byName.ContainsKey(key)) throw Fail(path, key, $"header lists tensor '{key}' more than once");
                    SafetensorsEntry e = ParseTensor(ref reader, path, key, shapeScratch);
                    entries.Add(e);
                    byName.Add(key, e);
                }
            }
            // Only whitespace may follow the object; anything else makes Read() throw.
            while (reader.Read()) { }
        }
        catch (JsonException ex)
        {
            throw Fail(path, null, $"header is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader.GetString throws this for a string it cannot decode: the bytes are valid UTF-8
            // (checked above), so this is an escape such as "\uD800" that encodes an unpaired surrogate.
            throw Fail(path, null, $"header is not valid JSON text: a string cannot be decoded ({ex.Message})", ex);
        }
        metadata = meta ?? new Dictionary<string, string>(0, StringComparer.Ordinal);
    }

    private static int IndexOfInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed) != OperationStatus.Done) return i;
            i += consumed;
        }
        return -1;
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw new JsonException("unexpected end of the header");
    }

    private static string DescribeToken(JsonTokenType t) => t switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };

    private static Dictionary<string, string> ParseMetadata(ref Utf8JsonReader reader, string path)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(path, null, $"'{MetadataKey}' must be a JSON object of string values but is {DescribeToken(reader.TokenType)}");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) return result;
            string key = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
                throw Fail(path, null, $"'{MetadataKey}' value for key '{key}' must be a string but is {DescribeToken(reader.TokenType)}");
            if (!result.TryAdd(key, reader.GetString()!))
                throw Fail(path, null, $"'{MetadataKey}' has key '{key}' more than once");
        }
    }

    private static SafetensorsEntry ParseTensor(ref Utf8JsonReader reader, string path, string name, List<int> shapeScratch)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(path, name, $"tensor '{name}' must be described by a JSON object but is {DescribeToken(reader.TokenType)}");

        string? dtype = null;
        int[]? shape = null;
        bool hasOffsets = false;
        long begin = 0, end = 0;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) break;

            if (reader.ValueTextEquals("dtype"u8))
            {
                if (dtype is not null) throw Fail(path, name, $"tensor '{name}' has 'dtype' more than once");
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.String)
                    throw Fail(path, name, $"tensor '{name}' has a 'dtype' that is not a string");
                dtype = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                if (shape is not null) throw Fail(path, name, $"tensor '{name}' has 'shape' more than once");
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw Fail(path, name, $"tensor '{name}' has a 'shape' that is not an array");
                shapeScratch.Clear();
                while (true)
                {
                    Next(ref reader);
                    if (reader.TokenType == JsonTokenType.EndArray) break;
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long d) || d < 0 || d > int.MaxValue)
                        throw Fail(path, name, $"tensor '{name}' has an invalid shape: every dimension must be an integer in [0, {int.MaxValue}]");
                    shapeScratch.Add((int)d);
                }
                shape = shapeScratch.ToArray();
            }
            else if (reader.ValueTextEquals("data_offsets"u8))
            {
                if (hasOffsets) throw Fail(path, name, $"tensor '{name}' has 'data_offsets' more than once");
                Next(ref reader);
                int count = 0;
                bool ok = reader.TokenType == JsonTokenType.StartArray;
                while (ok)
                {
                    Next(ref reader);
                    if (reader.TokenType == JsonTokenType.EndArray) break;
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0 || count >= 2)
                    {
                        ok = false;
                        break;
                    }
                    if (count == 0) begin = v; else end = v;
                    count++;
                }
                if (!ok || count != 2)
                    throw Fail(path, name, $"tensor '{name}' has invalid 'data_offsets': expected [begin, end] with non-negative integers");
                hasOffsets = true;
            }
            else
            {
                reader.Skip(); // unknown field: ignore, as the reference implementation does
            }
        }

        if (dtype is null) throw Fail(path, name, $"tensor '{name}' has no 'dtype'");
        if (shape is null) throw Fail(path, name, $"tensor '{name}' has no 'shape'");
        if (!hasOffsets) throw Fail(path, name, $"tensor '{name}' has no 'data_offsets'");
        if (end < begin)
            throw Fail(path, name, $"tensor '{name}' has data_offsets [{begin}, {end}] whose end is before its begin");

        int elementSize = DTypeSize(dtype);
        if (elementSize > 0)
        {
            long needed;
            try
            {
                long count = 1;
                foreach (int d in shape) count = checked(count * d);
                needed = checked(count * elementSize);
            }
            catch (OverflowException)
            {
                throw Fail(path, name, $"tensor '{name}' has shape {FormatShape(shape)}, too large to address");
            }
            if (end - begin != needed)
                throw Fail(path, name,
                    $"tensor '{name}' has data_offsets [{begin}, {end}] ({end - begin} bytes) but shape {FormatShape(shape)} of {dtype} needs {needed} bytes");
        }
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Bytes per element of a safetensors dtype, or 0 when unknown or sub-byte.</summary>
    private static int DTypeSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "F8_E8M0" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" or "C64" => 8,
        _ => 0,
    };

    private static void ReadExactly(SafeFileHandle handle, string path, string? tensor, long fileOffset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(handle, destination, fileOffset);
            if (n <= 0)
                throw Fail(path, tensor, $"file is truncated: it ended at byte {fileOffset} while reading{(tensor is null ? "" : $" tensor '{tensor}'")}");
            destination = destination[n..];
            fileOffset += n;
        }
    }

    private static void ReadFloats(SafeFileHandle handle, string path, string tensor, long fileOffset, Span<float> destination)
    {
        const int chunk = ChunkBytes / sizeof(float);
        Span<float> rest = destination;
        while (!rest.IsEmpty)
        {
            int n = Math.Min(rest.Length, chunk);
            ReadExactly(handle, path, tensor, fileOffset, MemoryMarshal.AsBytes(rest[..n]));
            fileOffset += (long)n * sizeof(float);
            rest = rest[n..];
        }
        if (!BitConverter.IsLittleEndian)
        {
            Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    internal static string FormatShape(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
