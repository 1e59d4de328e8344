using System.IO;
using SkiaSharp;

namespace NetGen.Examples.Generative.Imaging;

/// <summary>
/// A sans-serif typeface with glyphs: well-known font files first (SkiaSharp's Linux native assets have no fontconfig,
/// so family names match loosely there), then family names, the platform default, then any TrueType file found.
/// Without any font, text is simply not drawn.
/// </summary>
internal static class Fonts
{
    public static SKTypeface Load()
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

    /// <summary>Encodes a surface's snapshot as PNG and writes it, creating the folder.</summary>
    public static void SavePng(SKSurface surface, string path)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new System.InvalidOperationException("SkiaSharp could not encode the image as PNG.");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var file = File.Create(path);
        data.SaveTo(file);
    }
}
