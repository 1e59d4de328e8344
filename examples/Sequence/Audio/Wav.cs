using System;
using System.Buffers.Binary;
using System.IO;

namespace NetGen.Examples.Sequence.Audio;

/// <summary>
/// Mono 16-bit PCM WAV files with a hand-written 44-byte RIFF header:
/// "RIFF" size "WAVE", "fmt " 16 (PCM 1, channels 1, rate, byte rate = 2 * rate, block align 2, 16 bits), "data" size, samples.
/// </summary>
public static class Wav
{
    public const int HeaderSize = 44;

    /// <summary>The file's bytes: samples in [-1, 1] (clipped) scaled to 16-bit integers with rounding.</summary>
    public static byte[] Encode(ReadOnlySpan<float> samples, int sampleRate)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "The sample rate must be positive.");
        const short channels = 1, bitsPerSample = 16;
        short blockAlign = channels * bitsPerSample / 8;
        int dataSize = checked(samples.Length * blockAlign);
        var bytes = new byte[HeaderSize + dataSize];
        var span = bytes.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], 36 + dataSize);
        "WAVE"u8.CopyTo(span[8..]);
        "fmt "u8.CopyTo(span[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], 16);              // fmt chunk size
        BinaryPrimitives.WriteInt16LittleEndian(span[20..], 1);               // PCM
        BinaryPrimitives.WriteInt16LittleEndian(span[22..], channels);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], sampleRate * blockAlign); // byte rate
        BinaryPrimitives.WriteInt16LittleEndian(span[32..], blockAlign);
        BinaryPrimitives.WriteInt16LittleEndian(span[34..], bitsPerSample);
        "data"u8.CopyTo(span[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[40..], dataSize);
        for (int i = 0; i < samples.Length; i++)
        {
            float v = Math.Clamp(samples[i], -1f, 1f);
            BinaryPrimitives.WriteInt16LittleEndian(span[(HeaderSize + 2 * i)..], (short)MathF.Round(v * 32767f));
        }
        return bytes;
    }

    /// <summary>Writes <see cref="Encode"/>'s bytes to <paramref name="path"/>, creating the folder.</summary>
    public static void Write(string path, ReadOnlySpan<float> samples, int sampleRate)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        File.WriteAllBytes(path, Encode(samples, sampleRate));
    }

    /// <summary>Reads a file written by <see cref="Encode"/> (mono 16-bit PCM with the canonical 44-byte header).</summary>
    public static (int SampleRate, float[] Samples) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize || !bytes[..4].SequenceEqual("RIFF"u8) || !bytes[8..12].SequenceEqual("WAVE"u8)
            || !bytes[12..16].SequenceEqual("fmt "u8) || !bytes[36..40].SequenceEqual("data"u8))
            throw new InvalidDataException("Not a canonical 44-byte-header WAV file.");
        if (BinaryPrimitives.ReadInt16LittleEndian(bytes[20..]) != 1 || BinaryPrimitives.ReadInt16LittleEndian(bytes[22..]) != 1
            || BinaryPrimitives.ReadInt16LittleEndian(bytes[34..]) != 16)
            throw new InvalidDataException("Only mono 16-bit PCM is supported.");
        int rate = BinaryPrimitives.ReadInt32LittleEndian(bytes[24..]);
        int dataSize = BinaryPrimitives.ReadInt32LittleEndian(bytes[40..]);
        if (dataSize < 0 || HeaderSize + dataSize > bytes.Length) throw new InvalidDataException("The data chunk is longer than the file.");
        var samples = new float[dataSize / 2];
        for (int i = 0; i < samples.Length; i++) samples[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(HeaderSize + 2 * i)..]) / 32767f;
        return (rate, samples);
    }
}
