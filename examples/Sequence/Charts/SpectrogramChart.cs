using System;
using System.Collections.Generic;
using SkiaSharp;

namespace NetGen.Examples.Sequence.Charts;

/// <summary>One panel of a <see cref="SpectrogramChart"/>: magnitudes (drawn in dB) or a mask in [0, 1], frame-major [frames x bins].</summary>
public sealed record SpectrogramPanel(string Title, float[] Values, bool IsMask = false);

/// <summary>
/// Spectrograms as a PNG: panels in rows of three, time across (seconds), frequency up (kHz). Magnitude panels share one
/// dB scale (the loudest bin of all of them at the top, <see cref="RangeDb"/> below it at the bottom) and the viridis
/// colours; mask panels run from black (0: accompaniment) to white (1: voice). Colour bars at the right.
/// </summary>
public static class SpectrogramChart
{
    public const double RangeDb = 70;
    private const int FramePixels = 5, BinPixels = 2, Columns = 3;
    private const int MarginLeft = 70, Gap = 80, TitleHeight = 60, PanelTitle = 26, AxisHeight = 50, ColorBar = 120;

    public static void Save(string path, string title, IReadOnlyList<SpectrogramPanel> panels, int frames, int bins, double sampleRate, int hop)
    {
        int panelWidth = frames * FramePixels, panelHeight = bins * BinPixels;
        int rows = (panels.Count + Columns - 1) / Columns;
        int width = MarginLeft + Columns * panelWidth + (Columns - 1) * Gap + ColorBar + 40;
        int height = TitleHeight + rows * (PanelTitle + panelHeight + AxisHeight) + 10;

        double top = double.NegativeInfinity;
        foreach (var p in panels)
            if (!p.IsMask) foreach (float v in p.Values) top = Math.Max(top, Db(v));
        if (double.IsNegativeInfinity(top)) top = 0;
        double bottom = top - RangeDb;

        Drawing.SavePng(path, width, height, (canvas, typeface) =>
        {
            using var titleFont = new SKFont(typeface, 22) { Edging = SKFontEdging.Antialias };
            using var panelFont = new SKFont(typeface, 16) { Edging = SKFontEdging.Antialias };
            using var tickFont = new SKFont(typeface, 13) { Edging = SKFontEdging.Antialias };
            using var text = new SKPaint { Color = Drawing.Text, IsAntialias = true };
            using var axis = new SKPaint { Color = Drawing.Axis, StrokeWidth = 1.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var cell = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
            canvas.DrawText(title, width / 2f, 36, SKTextAlign.Center, titleFont, text);

            bool anyMask = false;
            for (int i = 0; i < panels.Count; i++)
            {
                var p = panels[i];
                anyMask |= p.IsMask;
                int row = i / Columns, column = i % Columns;
                float left = MarginLeft + column * (panelWidth + Gap);
                float topY = TitleHeight + row * (PanelTitle + panelHeight + AxisHeight) + PanelTitle;
                canvas.DrawText(p.Title, left + panelWidth / 2f, topY - 8, SKTextAlign.Center, panelFont, text);
                for (int t = 0; t < frames; t++)
                    for (int k = 0; k < bins; k++)
                    {
                        float v = p.Values[t * bins + k];
                        cell.Color = p.IsMask ? Gray(v) : Viridis((Db(v) - bottom) / RangeDb);
                        canvas.DrawRect(left + t * FramePixels, topY + (bins - 1 - k) * BinPixels, FramePixels, BinPixels, cell);
                    }
                canvas.DrawRect(left, topY, panelWidth, panelHeight, axis);

                // Frequency ticks every kHz, time ticks every 0.25 s.
                double nyquist = sampleRate / 2;
                for (double f = 0; f <= nyquist + 1e-9; f += 1000)
                {
                    float y = topY + panelHeight - (float)(f / nyquist * (panelHeight - BinPixels)) - BinPixels / 2f;
                    canvas.DrawLine(left - 5, y, left, y, axis);
                    canvas.DrawText(Drawing.Format(f / 1000), left - 8, y + 4, SKTextAlign.Right, tickFont, text);
                }
                double seconds = (frames - 1) * hop / sampleRate;
                for (double s = 0; s <= seconds + 1e-9; s += 0.25)
                {
                    float x = left + (float)(s / seconds * (panelWidth - FramePixels)) + FramePixels / 2f;
                    canvas.DrawLine(x, topY + panelHeight, x, topY + panelHeight + 5, axis);
                    canvas.DrawText(Drawing.Format(s), x, topY + panelHeight + 19, SKTextAlign.Center, tickFont, text);
                }
                canvas.DrawText("time (s)", left + panelWidth / 2f, topY + panelHeight + 38, SKTextAlign.Center, tickFont, text);
                canvas.Save();
                canvas.RotateDegrees(-90, left - 38, topY + panelHeight / 2f);
                canvas.DrawText("kHz", left - 38, topY + panelHeight / 2f + 4, SKTextAlign.Center, tickFont, text);
                canvas.Restore();
            }

            // Colour bars: dB (all magnitude panels), and the mask's when there is one.
            float barLeft = MarginLeft + Columns * panelWidth + (Columns - 1) * Gap + 30;
            float barTop = TitleHeight + PanelTitle;
            DrawBar(canvas, barLeft, barTop, panelHeight, v => Viridis(v), bottom, top, "dB", tickFont, text, axis, cell);
            if (anyMask && rows > 1)
                DrawBar(canvas, barLeft, barTop + PanelTitle + panelHeight + AxisHeight, panelHeight, v => Gray((float)v), 0, 1, "mask", tickFont, text, axis, cell);
        });
    }

    private static void DrawBar(SKCanvas canvas, float left, float top, float height, Func<double, SKColor> color, double low, double high,
        string label, SKFont font, SKPaint text, SKPaint axis, SKPaint cell)
    {
        const float barWidth = 18;
        for (int y = 0; y < (int)height; y++)
        {
            cell.Color = color(1 - y / (height - 1));
            canvas.DrawRect(left, top + y, barWidth, 1, cell);
        }
        canvas.DrawRect(left, top, barWidth, height, axis);
        double step = Drawing.NiceStep(high - low, 5);
        for (double v = Math.Ceiling(low / step) * step; v <= high + 1e-9; v += step)
        {
            float y = top + (float)((high - v) / (high - low) * height);
            canvas.DrawLine(left + barWidth, y, left + barWidth + 5, y, axis);
            canvas.DrawText(Drawing.Format(Math.Round(v, 3)), left + barWidth + 8, y + 4, SKTextAlign.Left, font, text);
        }
        canvas.DrawText(label, left + barWidth / 2, top - 8, SKTextAlign.Center, font, text);
    }

    private static double Db(float magnitude) => 20 * Math.Log10(magnitude + 1e-7);

    private static SKColor Gray(float v)
    {
        byte g = (byte)Math.Round(255 * Math.Clamp(v, 0f, 1f));
        return new SKColor(g, g, g);
    }

    // Viridis, sampled at nine points and interpolated linearly.
    private static readonly (byte R, byte G, byte B)[] ViridisPoints =
    {
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    };

    private static SKColor Viridis(double v)
    {
        v = Math.Clamp(v, 0, 1) * (ViridisPoints.Length - 1);
        int i = Math.Min((int)v, ViridisPoints.Length - 2);
        double f = v - i;
        var (r0, g0, b0) = ViridisPoints[i];
        var (r1, g1, b1) = ViridisPoints[i + 1];
        return new SKColor((byte)(r0 + f * (r1 - r0)), (byte)(g0 + f * (g1 - g0)), (byte)(b0 + f * (b1 - b0)));
    }
}
