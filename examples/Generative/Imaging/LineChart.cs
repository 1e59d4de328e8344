using System;
using System.Collections.Generic;
using System.Globalization;
using SkiaSharp;

namespace NetGen.Examples.Generative.Imaging;

/// <summary>
/// A line chart saved as PNG with SkiaSharp: several named series of (x, y) points, axes with "nice" ticks, grid,
/// axis labels, a title and a legend. Each series may be drawn thin and translucent (raw per-step losses) or
/// thick with dots (per-epoch values), and may be smoothed with a trailing moving average.
/// </summary>
public sealed class LineChart
{
    private const int Width = 1200, Height = 700;
    private const float Left = 100, Right = 30, Top = 70, Bottom = 80;

    private static readonly SKColor[] Palette =
    {
        new(0x1F, 0x77, 0xB4), new(0xE0, 0x6C, 0x00), new(0x2E, 0x9D, 0x4A), new(0xC6, 0x28, 0x28),
        new(0x8E, 0x44, 0xAD), new(0x6D, 0x4C, 0x41),
    };

    private readonly List<Series> _series = new();

    public LineChart(string title, string xLabel, string yLabel)
    {
        Title = title;
        XLabel = xLabel;
        YLabel = yLabel;
    }

    public string Title { get; }
    public string XLabel { get; }
    public string YLabel { get; }

    /// <summary>Horizontal reference lines (for example a baseline), drawn dashed.</summary>
    public List<(string Label, double Y)> References { get; } = new();

    /// <summary>Forces the bottom of the y axis (default: from the data).</summary>
    public double? YMin { get; set; }

    /// <summary>Forces the top of the y axis (default: from the data).</summary>
    public double? YMax { get; set; }

    private sealed record Series(string Name, double[] X, double[] Y, SKColor Color, float Width, bool Dots, byte Alpha, int Smooth);

    /// <summary>Adds a series. <paramref name="smooth"/> &gt; 1 draws a trailing moving average of that many points instead of the raw values.</summary>
    public LineChart Add(string name, IReadOnlyList<double> x, IReadOnlyList<double> y, bool dots = false, float width = 2.5f,
        int color = -1, byte alpha = 255, int smooth = 1)
    {
        if (x.Count != y.Count) throw new ArgumentException($"Series '{name}' has {x.Count} x values and {y.Count} y values.");
        var xs = new double[x.Count];
        var ys = new double[y.Count];
        for (int i = 0; i < xs.Length; i++) { xs[i] = x[i]; ys[i] = y[i]; }
        if (smooth > 1)
        {
            double sum = 0;
            var smoothed = new double[ys.Length];
            for (int i = 0; i < ys.Length; i++)
            {
                sum += ys[i];
                if (i >= smooth) sum -= ys[i - smooth];
                smoothed[i] = sum / Math.Min(i + 1, smooth);
            }
            ys = smoothed;
        }
        var c = Palette[(color >= 0 ? color : _series.Count) % Palette.Length];
        _series.Add(new Series(name, xs, ys, c, width, dots, alpha, smooth));
        return this;
    }

    /// <summary>Draws the chart and writes it as PNG (creating the folder).</summary>
    public void Save(string path)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
        Draw(surface.Canvas);
        Fonts.SavePng(surface, path);
    }

    private void Draw(SKCanvas canvas)
    {
        canvas.Clear(SKColors.White);
        using var typeface = Fonts.Load();
        using var titleFont = new SKFont(typeface, 24) { Edging = SKFontEdging.Antialias };
        using var labelFont = new SKFont(typeface, 18) { Edging = SKFontEdging.Antialias };
        using var tickFont = new SKFont(typeface, 15) { Edging = SKFontEdging.Antialias };
        using var text = new SKPaint { Color = new SKColor(0x20, 0x20, 0x20), IsAntialias = true };
        var plot = new SKRect(Left, Top, Width - Right, Height - Bottom);

        // Data ranges.
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity, yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (var s in _series)
        {
            for (int i = 0; i < s.X.Length; i++)
            {
                if (!double.IsFinite(s.Y[i])) continue;
                xMin = Math.Min(xMin, s.X[i]); xMax = Math.Max(xMax, s.X[i]);
                yMin = Math.Min(yMin, s.Y[i]); yMax = Math.Max(yMax, s.Y[i]);
            }
        }
        foreach (var (_, y) in References) { yMin = Math.Min(yMin, y); yMax = Math.Max(yMax, y); }
        if (!double.IsFinite(xMin)) { xMin = 0; xMax = 1; yMin = 0; yMax = 1; }
        if (YMin is double forcedMin) yMin = forcedMin;
        if (YMax is double forcedMax) yMax = forcedMax;
        if (xMax <= xMin) xMax = xMin + 1;
        if (yMax <= yMin) { yMax = yMin + 1; yMin -= 1; }
        double pad = 0.05 * (yMax - yMin);
        double yLow = YMin ?? (yMin >= 0 ? Math.Max(0, yMin - pad) : yMin - pad), yHigh = YMax ?? (yMax + pad);
        double yStep = NiceStep(yHigh - yLow, 7);
        yLow = Math.Floor(yLow / yStep) * yStep;
        yHigh = Math.Ceiling(yHigh / yStep) * yStep;
        double xStep = NiceStep(xMax - xMin, 10);
        double xLow = Math.Floor(xMin / xStep) * xStep, xHigh = Math.Ceiling(xMax / xStep) * xStep;

        float X(double v) => (float)(plot.Left + (v - xLow) / (xHigh - xLow) * plot.Width);
        float Y(double v) => (float)(plot.Bottom - (v - yLow) / (yHigh - yLow) * plot.Height);

        using var grid = new SKPaint { Color = new SKColor(0xE3, 0xE3, 0xE3), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var axis = new SKPaint { Color = new SKColor(0x30, 0x30, 0x30), StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
        for (double v = yLow; v <= yHigh + yStep / 2; v += yStep)
        {
            float y = Y(v);
            canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
            canvas.DrawLine(plot.Left - 6, y, plot.Left, y, axis);
            canvas.DrawText(Format(v, yStep), plot.Left - 10, y + 5, SKTextAlign.Right, tickFont, text);
        }
        for (double v = xLow; v <= xHigh + xStep / 2; v += xStep)
        {
            float x = X(v);
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
            canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + 6, axis);
            canvas.DrawText(Format(v, xStep), x, plot.Bottom + 24, SKTextAlign.Center, tickFont, text);
        }

        canvas.Save();
        canvas.ClipRect(new SKRect(plot.Left, plot.Top - 2, plot.Right + 2, plot.Bottom));
        for (int r = 0; r < References.Count; r++)
        {
            using var dashed = new SKPaint
            {
                Color = new SKColor(0x55, 0x55, 0x55), StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke,
                PathEffect = SKPathEffect.CreateDash(new[] { 10f, 6f }, 0),
            };
            canvas.DrawLine(plot.Left, Y(References[r].Y), plot.Right, Y(References[r].Y), dashed);
        }
        foreach (var s in _series)
        {
            if (s.X.Length == 0) continue;
            using var line = new SKPaint
            {
                Color = s.Color.WithAlpha(s.Alpha), StrokeWidth = s.Width, IsAntialias = true, Style = SKPaintStyle.Stroke,
                StrokeJoin = SKStrokeJoin.Round,
            };
            using var builder = new SKPathBuilder();
            bool started = false;
            for (int i = 0; i < s.X.Length; i++)
            {
                if (!double.IsFinite(s.Y[i])) { started = false; continue; }
                if (!started) { builder.MoveTo(X(s.X[i]), Y(s.Y[i])); started = true; }
                else builder.LineTo(X(s.X[i]), Y(s.Y[i]));
            }
            using var path = builder.Detach();
            canvas.DrawPath(path, line);
            if (s.Dots)
            {
                using var dot = new SKPaint { Color = s.Color.WithAlpha(s.Alpha), IsAntialias = true, Style = SKPaintStyle.Fill };
                for (int i = 0; i < s.X.Length; i++)
                    if (double.IsFinite(s.Y[i])) canvas.DrawCircle(X(s.X[i]), Y(s.Y[i]), s.Width + 2f, dot);
            }
        }
        canvas.Restore();

        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);
        canvas.DrawText(Title, Width / 2f, 38, SKTextAlign.Center, titleFont, text);
        canvas.DrawText(XLabel, plot.MidX, Height - 25, SKTextAlign.Center, labelFont, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 28, plot.MidY);
        canvas.DrawText(YLabel, 28, plot.MidY + 6, SKTextAlign.Center, labelFont, text);
        canvas.Restore();

        // Legend, top right inside the plot.
        var entries = new List<(string Label, SKColor Color, float Width, bool Dashed)>();
        foreach (var s in _series) entries.Add((s.Smooth > 1 ? $"{s.Name} (average of {s.Smooth})" : s.Name, s.Color.WithAlpha(Math.Max(s.Alpha, (byte)160)), Math.Max(s.Width, 2f), false));
        foreach (var (label, y) in References) entries.Add(($"{label} ({Format(y, Math.Abs(y) / 1000)})", new SKColor(0x55, 0x55, 0x55), 2f, true));
        if (entries.Count == 0) return;
        float legendWidth = 0;
        foreach (var e in entries) legendWidth = Math.Max(legendWidth, tickFont.MeasureText(e.Label));
        float boxWidth = 60 + legendWidth + 16;
        var box = new SKRect(plot.Right - 14 - boxWidth, plot.Top + 12, plot.Right - 14, plot.Top + 12 + entries.Count * 24 + 10);
        using (var fill = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill }) canvas.DrawRect(box, fill);
        using (var border = new SKPaint { Color = new SKColor(0xC8, 0xC8, 0xC8), Style = SKPaintStyle.Stroke, StrokeWidth = 1 }) canvas.DrawRect(box, border);
        for (int i = 0; i < entries.Count; i++)
        {
            var (label, color, width, dashed) = entries[i];
            float y = box.Top + 17 + i * 24;
            using var sample = new SKPaint { Color = color, StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke };
            if (dashed) sample.PathEffect = SKPathEffect.CreateDash(new[] { 8f, 5f }, 0);
            canvas.DrawLine(box.Left + 10, y, box.Left + 50, y, sample);
            canvas.DrawText(label, box.Left + 60, y + 5, SKTextAlign.Left, tickFont, text);
        }
    }

    /// <summary>1, 2 or 5 times a power of ten giving about <paramref name="ticks"/> intervals over <paramref name="range"/>.</summary>
    private static double NiceStep(double range, int ticks)
    {
        double raw = Math.Max(range, 1e-12) / ticks;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / power;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * power;
    }

    private static string Format(double value, double step)
    {
        int decimals = step >= 1 || step <= 0 ? 0 : Math.Min(6, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        if (Math.Abs(value) < step * 1e-6) value = 0;
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }
}
