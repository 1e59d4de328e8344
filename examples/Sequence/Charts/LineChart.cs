using System;
using System.Collections.Generic;
using SkiaSharp;

namespace NetGen.Examples.Sequence.Charts;

/// <summary>One curve of a <see cref="LineChart"/>: a value per epoch (epoch 1 first).</summary>
public sealed record Series(string Label, SKColor Color, IReadOnlyList<double> Values, bool Dashed = false, bool Dots = true);

/// <summary>A horizontal reference line (chance level, a target).</summary>
public sealed record Reference(string Label, SKColor Color, double Value);

/// <summary>Learning curves over epochs as a PNG: grid, ticks, axis labels, title, legend, reference lines.</summary>
public static class LineChart
{
    private const int Width = 1250, Height = 650;
    private const float Left = 90, Right = 380, Top = 70, Bottom = 80;

    public static void Save(string path, string title, string yLabel, IReadOnlyList<Series> series, IReadOnlyList<Reference> references,
        double? yMin = null, double? yMax = null) =>
        Drawing.SavePng(path, Width, Height, (canvas, typeface) => Draw(canvas, typeface, title, yLabel, series, references, yMin, yMax));

    private static void Draw(SKCanvas canvas, SKTypeface typeface, string title, string yLabel, IReadOnlyList<Series> series,
        IReadOnlyList<Reference> references, double? fixedMin, double? fixedMax)
    {
        using var titleFont = new SKFont(typeface, 22) { Edging = SKFontEdging.Antialias };
        using var labelFont = new SKFont(typeface, 18) { Edging = SKFontEdging.Antialias };
        using var tickFont = new SKFont(typeface, 15) { Edging = SKFontEdging.Antialias };
        using var text = new SKPaint { Color = Drawing.Text, IsAntialias = true };
        var plot = new SKRect(Left, Top, Width - Right, Height - Bottom);

        int epochs = 1;
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (var s in series)
        {
            epochs = Math.Max(epochs, s.Values.Count);
            foreach (double v in s.Values) { low = Math.Min(low, v); high = Math.Max(high, v); }
        }
        foreach (var r in references) { low = Math.Min(low, r.Value); high = Math.Max(high, r.Value); }
        if (double.IsInfinity(low)) { low = 0; high = 1; }
        if (fixedMin is { } fmin) low = fmin;
        if (fixedMax is { } fmax) high = fmax;
        if (high <= low) high = low + 1;
        double yStep = Drawing.NiceStep(high - low, 6);
        double yMin = fixedMin ?? Math.Floor(low / yStep) * yStep;
        double yMax = fixedMax ?? Math.Ceiling(high / yStep) * yStep;
        if (fixedMax is null && yMax - high < 0.02 * (yMax - yMin)) yMax += yStep;   // room above the top value
        double xMax = Math.Max(epochs, 2);
        double xStep = Math.Max(1, Drawing.NiceStep(xMax, 10));

        float X(double epoch) => (float)(plot.Left + (epoch - 1) / (xMax - 1) * plot.Width);
        float Y(double value) => (float)(plot.Bottom - (value - yMin) / (yMax - yMin) * plot.Height);

        using var grid = new SKPaint { Color = Drawing.Grid, StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var axis = new SKPaint { Color = Drawing.Axis, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
        for (double v = yMin; v <= yMax + yStep / 2; v += yStep)
        {
            float y = Y(v);
            canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
            canvas.DrawLine(plot.Left - 6, y, plot.Left, y, axis);
            canvas.DrawText(Drawing.Format(Math.Round(v, 6)), plot.Left - 10, y + 5, SKTextAlign.Right, tickFont, text);
        }
        for (double tick = 0; tick <= xMax + 1e-9; tick += xStep)
        {
            double e = Math.Max(tick, 1);
            float x = X(e);
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
            canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + 6, axis);
            canvas.DrawText(Drawing.Format(e), x, plot.Bottom + 24, SKTextAlign.Center, tickFont, text);
        }

        canvas.Save();
        canvas.ClipRect(new SKRect(plot.Left, plot.Top - 4, plot.Right + 4, plot.Bottom + 4));
        foreach (var r in references)
        {
            using var dashed = new SKPaint { Color = r.Color, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke, PathEffect = SKPathEffect.CreateDash(new[] { 10f, 6f }, 0) };
            canvas.DrawLine(plot.Left, Y(r.Value), plot.Right, Y(r.Value), dashed);
        }
        foreach (var s in series)
        {
            if (s.Values.Count == 0) continue;
            using var line = new SKPaint { Color = s.Color, StrokeWidth = 3, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeJoin = SKStrokeJoin.Round };
            if (s.Dashed) line.PathEffect = SKPathEffect.CreateDash(new[] { 8f, 5f }, 0);
            using var dot = new SKPaint { Color = s.Color, IsAntialias = true, Style = SKPaintStyle.Fill };
            using var builder = new SKPathBuilder();
            builder.MoveTo(X(1), Y(s.Values[0]));
            for (int e = 1; e < s.Values.Count; e++) builder.LineTo(X(e + 1), Y(s.Values[e]));
            using var path = builder.Detach();
            canvas.DrawPath(path, line);
            if (s.Dots && s.Values.Count <= 120)
                for (int e = 0; e < s.Values.Count; e++) canvas.DrawCircle(X(e + 1), Y(s.Values[e]), 4, dot);
        }
        canvas.Restore();

        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);
        canvas.DrawText(title, Width / 2f, 38, SKTextAlign.Center, titleFont, text);
        canvas.DrawText("epoch", plot.MidX, Height - 25, SKTextAlign.Center, labelFont, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 28, plot.MidY);
        canvas.DrawText(yLabel, 28, plot.MidY + 6, SKTextAlign.Center, labelFont, text);
        canvas.Restore();

        // Legend, right of the plot.
        var entries = new List<(string Label, SKColor Color, bool Dashed)>();
        foreach (var s in series) entries.Add((s.Label, s.Color, s.Dashed));
        foreach (var r in references) entries.Add((r.Label, r.Color, true));
        float boxWidth = Right - 30, boxHeight = entries.Count * 24 + 10;
        var box = new SKRect(plot.Right + 18, plot.Top, plot.Right + 18 + boxWidth, plot.Top + boxHeight);
        using (var fill = new SKPaint { Color = new SKColor(255, 255, 255, 235), Style = SKPaintStyle.Fill }) canvas.DrawRect(box, fill);
        using (var border = new SKPaint { Color = Drawing.Grid, Style = SKPaintStyle.Stroke, StrokeWidth = 1 }) canvas.DrawRect(box, border);
        for (int i = 0; i < entries.Count; i++)
        {
            var (label, color, dashedLine) = entries[i];
            float y = box.Top + 17 + i * 24;
            using var sample = new SKPaint { Color = color, StrokeWidth = 3, IsAntialias = true, Style = SKPaintStyle.Stroke };
            if (dashedLine) sample.PathEffect = SKPathEffect.CreateDash(new[] { 8f, 5f }, 0);
            canvas.DrawLine(box.Left + 10, y, box.Left + 50, y, sample);
            canvas.DrawText(label, box.Left + 60, y + 5, SKTextAlign.Left, tickFont, text);
        }
    }
}
