using System;
using System.Globalization;
using System.IO;
using SkiaSharp;

namespace NetGen.Examples.Sequence.Charts;

/// <summary>Shared SkiaSharp helpers: a typeface with glyphs, PNG writing, tick steps and number formatting.</summary>
internal static class Drawing
{
    public static readonly SKColor Axis = new(0x30, 0x30, 0x30);
    public static readonly SKColor Grid = new(0xE3, 0xE3, 0xE3);
    public static readonly SKColor Text = new(0x20, 0x20, 0x20);

    /// <summary>
    /// A sans-serif font with glyphs: well-known font files first (SkiaSharp's Linux native assets have no fontconfig, so
    /// family names match loosely there), then family names, the platform default, then any TrueType file found.
    /// Without any font the text is simply not drawn.
    /// </summary>
    public static SKTypeface LoadTypeface()
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

    /// <summary>Creates a white surface, lets <paramref name="draw"/> paint it and writes it as PNG (creating the folder).</summary>
    public static void SavePng(string path, int width, int height, Action<SKCanvas, SKTypeface> draw)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
        surface.Canvas.Clear(SKColors.White);
        using (var typeface = LoadTypeface()) draw(surface.Canvas, typeface);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the image as PNG.");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// <summary>A 1, 2 or 5 times a power of ten giving about <paramref name="ticks"/> intervals over <paramref name="range"/>.</summary>
    public static double NiceStep(double range, int ticks)
    {
        double raw = Math.Max(range, 1e-9) / ticks;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / power;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * power;
    }

    public static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
