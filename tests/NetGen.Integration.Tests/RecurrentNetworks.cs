using NetGen;
using static NetGen.Layers;

namespace NetGen.Integration.Tests;

// Small recurrent networks over [Steps, Features] sequences, for gradient checks.

[Network]
public partial class LstmSequenceNet
{
    Tensor Forward([Shape(5, 3)] Tensor x) => Flatten(Lstm(x, hidden: 4));
}

[Network]
public partial class GruTwoLayerBidirectionalNet
{
    Tensor Forward([Shape(5, 3)] Tensor x) => Flatten(Gru(x, hidden: 3, layers: 2, bidirectional: true));
}

[Network]
public partial class LstmTwoLayerBidirectionalLastStateNet
{
    Tensor Forward([Shape(6, 2)] Tensor x) => Lstm(x, hidden: 3, layers: 2, bidirectional: true, returnSequences: false);
}

[Network]
public partial class RnnLastStateNet
{
    Tensor Forward([Shape(6, 3)] Tensor x) => Dense(Rnn(x, hidden: 4, returnSequences: false), 2);
}

/// <summary>Initial states as inputs, and a per-step Dense (many-to-many).</summary>
[Network]
public partial class LstmInitialStateNet
{
    Tensor Forward([Shape(5, 3)] Tensor x, [Shape(4)] Tensor h0, [Shape(4)] Tensor c0) =>
        Flatten(Dense(Lstm(x, hidden: 4, initialHidden: h0, initialCell: c0), 2));
}

/// <summary>A member-declared cell in a constant loop: an unrolled RNN with shared weights (backpropagation through time).</summary>
[Network]
public partial class UnrolledCellNet
{
    [Dense(4)] private partial Tensor Cell(Tensor x);

    Tensor Forward([Shape(5, 3)] Tensor x, [Shape(4)] Tensor h)
    {
        for (int t = 0; t < x.Steps; t++)
            h = Tanh(Cell(Concat(Step(x, t), h)));
        return h;
    }
}

/// <summary>Step and Stack: reverse the order of three steps (one-to-many outputs are built this way).</summary>
[Network]
public partial class StepStackNet
{
    Tensor Forward([Shape(3, 4)] Tensor x) => Flatten(Dense(Stack(Step(x, -1), Step(x, 1), Step(x, 0)), 2));
}

[Network]
public partial class RnnTwoLayerBidirectionalNet
{
    Tensor Forward([Shape(5, 2)] Tensor x) => Flatten(Rnn(x, hidden: 3, layers: 2, bidirectional: true));
}

[Network]
public partial class GruLastStateNet
{
    Tensor Forward([Shape(7, 3)] Tensor x) => Gru(x, hidden: 4, returnSequences: false);
}
