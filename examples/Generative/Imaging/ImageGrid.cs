using System;
using SkiaSharp;

namespace NetGen.Examples.Generative.Imaging;

/// <summary>
/// A grid of small grayscale images (28x28 digits) saved as one PNG: each tile is scaled up by an integer factor,
/// tiles are separated by a thin gap, and every <see cref="GroupColumns"/> columns a wider gap groups them (pairs,
/// triples). Optional title above and row labels on the left. Pixel values map linearly from [low, high] to
/// black..white (white strokes on black, like MNIST).
/// </summary>
public sealed class ImageGrid
{
    private readonly SKColor[] _pixels;   // unscaled canvas of rows*tileH x cols*tileW tile pixels
    private readonly string?[] _rowLabels;

    public ImageGrid(int rows, int columns, int tileHeight = 28, int tileWidth = 28)
    {
        if (rows < 1 || columns < 1) throw new ArgumentOutOfRangeException(nameof(rows), "An image grid needs at least one row and one column.");
        Rows = rows;
        Columns = columns;
        TileHeight = tileHeight;
        TileWidth = tileWidth;
        _pixels = new SKColor[rows * tileHeight * columns * tileWidth];
        Array.Fill(_pixels, SKColors.Black);
        _rowLabels = new string?[rows];
    }

    public int Rows { get; }
    public int Columns { get; }
    public int TileHeight { get; }
    public int TileWidth { get; }

    /// <summary>Screen pixels per image pixel (default 3).</summary>
    public int Scale { get; init; } = 3;

    /// <summary>Gap between tiles in screen pixels (default 2).</summary>
    public int Gap { get; init; } = 2;

    /// <summary>Columns per group: a wider gap separates groups (default 1: no grouping).</summary>
    public int GroupColumns { get; init; } = 1;

    /// <summary>Extra gap between column groups in screen pixels (default 10).</summary>
    public int GroupGap { get; init; } = 10;

    /// <summary>Title drawn above the grid, or null.</summary>
    public string? Title { get; init; }

    /// <summary>Label drawn left of a row (for example the class of a conditional GAN's row).</summary>
    public void SetRowLabel(int row, string? label) => _rowLabels[row] = label;

    /// <summary>Puts one image (row-major, <see cref="TileHeight"/> x <see cref="TileWidth"/>) into a tile.</summary>
    public void SetTile(int row, int column, ReadOnlySpan<float> pixels, float low = 0f, float high = 1f)
    {
        CheckTile(row, column);
        int size = TileHeight * TileWidth;
        if (pixels.Length < size) throw new ArgumentException($"A tile needs {size} pixels, got {pixels.Length}.", nameof(pixels));
        float inverse = 1f / (high - low);
        for (int y = 0; y < TileHeight; y++)
        {
            for (int x = 0; x < TileWidth; x++)
            {
                float v = (pixels[y * TileWidth + x] - low) * inverse;
                byte g = (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
                this[row, column, y, x] = new SKColor(g, g, g);
            }
        }
    }

    /// <summary>Blends a colour over a rectangle of a tile (to show an erased block, for example).</summary>
    public void Tint(int row, int column, int top, int left, int height, int width, SKColor color, float alpha = 0.45f)
    {
        CheckTile(row, column);
        for (int y = Math.Max(top, 0); y < Math.Min(top + height, TileHeight); y++)
        {
            for (int x = Math.Max(left, 0); x < Math.Min(left + width, TileWidth); x++)
            {
                SKColor c = this[row, column, y, x];
                this[row, column, y, x] = new SKColor(
                    (byte)(c.Red + alpha * (color.Red - c.Red)),
                    (byte)(c.Green + alpha * (color.Green - c.Green)),
                    (byte)(c.Blue + alpha * (color.Blue - c.Blue)));
            }
        }
    }

    private ref SKColor this[int row, int column, int y, int x] =>
        ref _pixels[((row * TileHeight + y) * Columns + column) * TileWidth + x];

    private void CheckTile(int row, int column)
    {
        if ((uint)row >= (uint)Rows || (uint)column >= (uint)Columns)
            throw new ArgumentOutOfRangeException(nameof(row), $"Tile ({row}, {column}) is outside the {Rows}x{Columns} grid.");
    }

    /// <summary>Draws the grid and writes it as PNG to <paramref name="path"/> (creating its folder).</summary>
    public void Save(string path)
    {
        bool labels = Array.Exists(_rowLabels, l => !string.IsNullOrEmpty(l));
        int labelWidth = labels ? 44 : 0;
        int titleHeight = Title is null ? 0 : 36;
        int groups = GroupColumns > 1 ? (Columns + GroupColumns - 1) / GroupColumns : 1;
        int tileW = TileWidth * Scale, tileH = TileHeight * Scale;
        int width = labelWidth + Gap + Columns * (tileW + Gap) + (groups - 1) * GroupGap + Gap;
        int height = titleHeight + Gap + Rows * (tileH + Gap) + Gap;

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
        var canvas = surface.Canvas;
        canvas.Clear(new SKColor(0x50, 0x50, 0x50));
        using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Columns; c++)
            {
                float left = labelWidth + Gap + c * (tileW + Gap) + (GroupColumns > 1 ? c / GroupColumns * GroupGap : 0);
                float top = titleHeight + Gap + r * (tileH + Gap);
                for (int y = 0; y < TileHeight; y++)
                {
                    for (int x = 0; x < TileWidth; x++)
                    {
                        paint.Color = this[r, c, y, x];
                        canvas.DrawRect(left + x * Scale, top + y * Scale, Scale, Scale, paint);
                    }
                }
            }
        }

        if (Title is not null || labels)
        {
            using var typeface = Fonts.Load();
            using var font = new SKFont(typeface, 18) { Edging = SKFontEdging.Antialias };
            using var text = new SKPaint { Color = SKColors.White, IsAntialias = true };
            if (Title is not null) canvas.DrawText(Title, width / 2f, 25, SKTextAlign.Center, font, text);
            for (int r = 0; r < Rows; r++)
            {
                if (string.IsNullOrEmpty(_rowLabels[r])) continue;
                float y = titleHeight + Gap + r * (tileH + Gap) + tileH / 2f + 7;
                canvas.DrawText(_rowLabels[r], labelWidth / 2f, y, SKTextAlign.Center, font, text);
            }
        }
        Fonts.SavePng(surface, path);
    }
}
