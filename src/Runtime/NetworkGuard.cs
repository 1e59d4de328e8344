using System;

namespace NetGen;

/// <summary>Argument checks shared by every generated network (one message format everywhere).</summary>
public static class NetworkGuard
{
    /// <summary>Throws unless 1 &lt;= batch &lt;= capacity.</summary>
    public static void Batch(string network, int batch, int capacity)
    {
        if (batch < 1 || batch > capacity)
            throw new ArgumentOutOfRangeException(nameof(batch), batch,
                $"{network}: batch must be between 1 and the capacity {capacity} given in NetworkOptions.");
    }

    /// <summary>
    /// Throws when <paramref name="capacity"/> samples of <paramref name="perSample"/> floats do not fit one .NET array
    /// (<see cref="Array.MaxLength"/> elements), naming the largest capacity that does. Returns the element count.
    /// </summary>
    public static int ArenaLength(string network, int capacity, int perSample, string arena)
    {
        long length = (long)capacity * perSample;
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"{network}: the {arena} arena needs {perSample:N0} floats per sample, so NetworkOptions.Capacity can be at most " +
                $"{Array.MaxLength / perSample:N0} (one array holds at most {Array.MaxLength:N0} floats); use a smaller capacity and more steps.");
        return (int)length;
    }

    /// <summary>Throws unless <paramref name="values"/> holds at least <paramref name="needed"/> floats.</summary>
    public static void Length(string network, ReadOnlySpan<float> values, int needed, string name)
    {
        if (values.Length < needed)
            throw new ArgumentException($"{network}: '{name}' has {values.Length} floats but the batch needs {needed}.", name);
    }

    /// <summary>
    /// Throws when an input points into the network's own activation arena (for example a span
    /// returned by an earlier Forward): inference reads inputs in place while reusing the arena.
    /// </summary>
    public static void NotAliased(string network, ReadOnlySpan<float> values, ReadOnlySpan<float> arena, string name)
    {
        if (values.Overlaps(arena))
            throw new ArgumentException($"{network}: '{name}' points into this network's own activation buffer (a span returned by Forward or Backward); copy it to an array of your own first.", name);
    }
}
