using System;
using System.Text;

namespace NetGen.Generator.Emit;

/// <summary>An indented source writer (four spaces, '\n' line endings on every platform).</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _builder = new();
    private int _indent;

    public CodeWriter Line(string text = "")
    {
        if (text.Length > 0) _builder.Append(' ', _indent * 4).Append(text);
        _builder.Append('\n');
        return this;
    }

    public CodeWriter Open(string text)
    {
        Line(text);
        Line("{");
        _indent++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _indent--;
        return Line("}" + suffix);
    }

    /// <summary>Writes a block of lines, each indented at the current level.</summary>
    public CodeWriter Lines(string text)
    {
        foreach (var line in text.Replace("\r\n", "\n").Split('\n')) Line(line);
        return this;
    }

    public override string ToString() => _builder.ToString();
}
