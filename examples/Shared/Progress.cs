using System;
using System.Diagnostics;

namespace NetGen.Examples;

/// <summary>Console progress for the examples (compiled into each, from examples/Shared): a live line (rewritten with '\r', at most every 0.2 s) on a terminal, full lines always.</summary>
public sealed class Progress
{
    private readonly bool _live = !Console.IsOutputRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastLive = -1;
    private int _liveLength;

    /// <summary>Seconds since the progress started.</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>Rewrites the live line (terminal only).</summary>
    public void Live(string text, bool force = false)
    {
        if (!_live) return;
        double now = Elapsed;
        if (!force && now - _lastLive < 0.2) return;
        _lastLive = now;
        Console.Write('\r' + text.PadRight(_liveLength));
        _liveLength = text.Length;
    }

    /// <summary>Writes a full line (clearing the live one).</summary>
    public void Line(string text)
    {
        if (_live && _liveLength > 0)
        {
            Console.Write('\r' + new string(' ', _liveLength) + '\r');
            _liveLength = 0;
        }
        Console.WriteLine(text);
    }
}
