using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using SkiaSharp;

namespace NetGen.Examples.Dqn;

/// <summary>
/// Draws the learning curve of a run as a PNG with SkiaSharp: the return of every episode, its moving
/// average, the "solved" threshold, axes with ticks and labels, a title and a legend.
/// </summary>
public static class ReturnChart
{
    private const int Width = 1200, Height = 700;
    private const float Left = 90, Right = 30, Top = 70, Bottom = 80;

    private static readonly SKColor ReturnColor = new(0x4C, 0x9A, 0xD8, 0xB0);
    private static readonly SKColor AverageColor = new(0xE0, 0x6C, 0x00);
    private static readonly SKColor ThresholdColor = new(0x2E, 0x9D, 0x4A);
    private static readonly SKColor AxisColor = new(0x30, 0x30, 0x30);
    private static readonly SKColor GridColor = new(0xE3, 0xE3, 0xE3);
    private static readonly SKColor TextColor = new(0x20, 0x20, 0x20);

    /// <summary>Writes the chart to <paramref name="path"/> (PNG).</summary>
    /// <param name="returns">Return of each episode, in order.</param>
    /// <param name="window">Moving-average window (the solve criterion's 100).</param>
    /// <param name="threshold">The solve threshold drawn as a dashed line (195).</param>
    /// <param name="title">Chart title.</param>
    public static void Save(string path, ReadOnlySpan<float> returns, int window, double threshold, string title)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
        Draw(surface.Canvas, returns, window, threshold, title);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the chart as PNG.");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private static void Draw(SKCanvas canvas, ReadOnlySpan<float> returns, int window, double threshold, string title)
    {
        canvas.Clear(SKColors.White);
        using var typeface = LoadTypeface();
        using var titleFont = new SKFont(typeface, 24) { Edging = SKFontEdging.Antialias };
        using var labelFont = new SKFont(typeface, 18) { Edging = SKFontEdging.Antialias };
        using var tickFont = new SKFont(typeface, 15) { Edging = SKFontEdging.Antialias };
        using var text = new SKPaint { Color = TextColor, IsAntialias = true };

        float plotRight = Width - Right, plotBottom = Height - Bottom;
        var plot = new SKRect(Left, Top, plotRight, plotBottom);

        int episodes = returns.Length;
        double xMax = Math.Max(episodes, 10);
        double dataMax = threshold;
        foreach (float r in returns) dataMax = Math.Max(dataMax, r);
        double yStep = NiceStep(dataMax * 1.05, 6);
        double yMax = Math.Ceiling(dataMax * 1.05 / yStep) * yStep;
        double xStep = NiceStep(xMax, 10);
        xMax = Math.Ceiling(xMax / xStep) * xStep;

        float X(double episode) => (float)(plot.Left + (episode - 1) / Math.Max(xMax - 1, 1) * plot.Width);
        float Y(double value) => (float)(plot.Bottom - value / yMax * plot.Height);

        // Grid and ticks.
        using var grid = new SKPaint { Color = GridColor, StrokeWidth = 1, IsAntialias = false, Style = SKPaintStyle.Stroke };
        using var axis = new SKPaint { Color = AxisColor, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
        for (double v = 0; v <= yMax + yStep / 2; v += yStep)
        {
            float y = Y(v);
            canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
            canvas.DrawLine(plot.Left - 6, y, plot.Left, y, axis);
            canvas.DrawText(Format(v), plot.Left - 10, y + 5, SKTextAlign.Right, tickFont, text);
        }
        for (double v = 0; v <= xMax + xStep / 2; v += xStep)
        {
            double episode = Math.Max(v, 1);
            float x = X(episode);
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
            canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + 6, axis);
            canvas.DrawText(Format(episode), x, plot.Bottom + 24, SKTextAlign.Center, tickFont, text);
        }

        // The solve threshold.
        using (var dashed = new SKPaint
        {
            Color = ThresholdColor, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke,
            PathEffect = SKPathEffect.CreateDash(new[] { 10f, 6f }, 0),
        })
        {
            canvas.DrawLine(plot.Left, Y(threshold), plot.Right, Y(threshold), dashed);
        }

        canvas.Save();
        canvas.ClipRect(new SKRect(plot.Left, plot.Top - 2, plot.Right + 2, plot.Bottom));
        // Return of every episode: a thin line with dots.
        if (episodes > 0)
        {
            using var line = new SKPaint { Color = ReturnColor, StrokeWidth = 1.2f, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeJoin = SKStrokeJoin.Round };
            using var dot = new SKPaint { Color = ReturnColor, IsAntialias = true, Style = SKPaintStyle.Fill };
            using (var builder = new SKPathBuilder())
            {
                builder.MoveTo(X(1), Y(returns[0]));
                for (int e = 1; e < episodes; e++) builder.LineTo(X(e + 1), Y(returns[e]));
                using var path = builder.Detach();
                canvas.DrawPath(path, line);
            }
            float radius = episodes > 600 ? 1.2f : 2.2f;
            for (int e = 0; e < episodes; e++) canvas.DrawCircle(X(e + 1), Y(returns[e]), radius, dot);

            // Moving average over the last `window` episodes (fewer at the start).
            using var average = new SKPaint { Color = AverageColor, StrokeWidth = 3, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeJoin = SKStrokeJoin.Round };
            using var avgBuilder = new SKPathBuilder();
            double sum = 0;
            for (int e = 0; e < episodes; e++)
            {
                sum += returns[e];
                if (e >= window) sum -= returns[e - window];
                float y = Y(sum / Math.Min(e + 1, window));
                if (e == 0) avgBuilder.MoveTo(X(1), y);
                else avgBuilder.LineTo(X(e + 1), y);
            }
            using var avgPath = avgBuilder.Detach();
            canvas.DrawPath(avgPath, average);
        }
        canvas.Restore();

        // Axes.
        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);

        // Labels and title.
        canvas.DrawText(title, Width / 2f, 38, SKTextAlign.Center, titleFont, text);
        canvas.DrawText("episode", plot.MidX, Height - 25, SKTextAlign.Center, labelFont, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 28, plot.MidY);
        canvas.DrawText("return (steps balanced)", 28, plot.MidY + 6, SKTextAlign.Center, labelFont, text);
        canvas.Restore();

        // Legend, top left inside the plot.
        var entries = new List<(string Label, SKColor Color, float Width, bool Dashed)>
        {
            ("return per episode", ReturnColor, 2, false),
            ($"average of last {window}", AverageColor, 3, false),
            ($"solved ({Format(threshold)})", ThresholdColor, 2, true),
        };
        float legendWidth = 0;
        foreach (var entry in entries) legendWidth = Math.Max(legendWidth, tickFont.MeasureText(entry.Label));
        var box = new SKRect(plot.Left + 14, plot.Top + 12, plot.Left + 14 + 60 + legendWidth + 16, plot.Top + 12 + entries.Count * 24 + 10);
        using (var fill = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill })
            canvas.DrawRect(box, fill);
        using (var border = new SKPaint { Color = GridColor.WithAlpha(255), Style = SKPaintStyle.Stroke, StrokeWidth = 1 })
            canvas.DrawRect(box, border);
        for (int i = 0; i < entries.Count; i++)
        {
            var (label, color, width, dashedLine) = entries[i];
            float y = box.Top + 17 + i * 24;
            using var sample = new SKPaint { Color = color.WithAlpha(255), StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke };
            if (dashedLine) sample.PathEffect = SKPathEffect.CreateDash(new[] { 8f, 5f }, 0);
            canvas.DrawLine(box.Left + 10, y, box.Left + 50, y, sample);
            canvas.DrawText(label, box.Left + 60, y + 5, SKTextAlign.Left, tickFont, text);
        }
    }

    /// <summary>
    /// A sans-serif font with glyphs: well-known font files first (the Linux native assets of SkiaSharp have no
    /// fontconfig, so family names match loosely there), then family names, the platform default, and finally
    /// any TrueType file found. Without any font the chart is drawn without text.
    /// </summary>
    private static SKTypeface LoadTypeface()
    {
        foreach (string file in new[]
        {
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
            "/System/Library/Fonts/Supplemental/Arial.ttf",
            @"C:\Windows\Fonts\arial.ttf",
        })
        {
            if (File.Exists(file) && SKTypeface.FromFile(file) is { GlyphCount: > 0 } fromFile) return fromFile;
        }
        foreach (string family in new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica" })
        {
            if (SKTypeface.FromFamilyName(family) is { GlyphCount: > 0 } named && named.FamilyName == family) return named;
        }
        if (SKTypeface.Default is { GlyphCount: > 0 } platformDefault) return platformDefault;
        foreach (string directory in new[] { "/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", @"C:\Windows\Fonts" })
        {
            if (!Directory.Exists(directory)) continue;
            foreach (string file in Directory.EnumerateFiles(directory, "*.ttf", SearchOption.AllDirectories))
            {
                if (SKTypeface.FromFile(file) is { GlyphCount: > 0 } any) return any;
            }
        }
        return SKTypeface.Default;
    }

    /// <summary>A 1, 2 or 5 times a power of ten giving about <paramref name="ticks"/> intervals up to <paramref name="range"/>.</summary>
    private static double NiceStep(double range, int ticks)
    {
        double raw = Math.Max(range, 1e-9) / ticks;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / power;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return Math.Max(1, nice * power);
    }

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
