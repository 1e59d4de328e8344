using static NetGen.Layers;

namespace NetGen.Examples.Sequence;

/// <summary>
/// The separation network, after Huang, Kim, Hasegawa-Johnson and Smaragdis, "Singing-voice separation from monaural
/// recordings using deep recurrent neural networks" (ISMIR 2014) and "Joint optimization of masks and deep recurrent
/// neural networks for monaural source separation" (IEEE/ACM TASLP 2015), scaled down: a 2-layer LSTM of 128 units
/// over the 65 frames of a clip's log-magnitude spectrogram (129 bins), then per frame a Dense to 2 x 129 units and a
/// sigmoid: ỹ1 (voice) and ỹ2 (accompaniment), positive, one per bin. The time-frequency masking layer that turns them
/// into source magnitudes is <see cref="TimeFrequencyMask"/> (example code: it needs the mixture's magnitudes, which are
/// not the network's input).
/// </summary>
[Network]
public partial class SeparationNet
{
    Tensor Forward([Shape(65, 129)] Tensor spectrum) =>
        Sigmoid(Dense(Lstm(spectrum, hidden: 128, layers: 2), 2 * 129, name: "output"));
}

// Many-to-one classifiers for the temporal-order task (MemoryTask): the last hidden state of T steps of 8 one-hot
// symbols, then one logit. The LSTM and the plain (Elman, tanh) RNN have the same hidden size, 32.

[Network]
public partial class MemoryLstm100
{
    Tensor Forward([Shape(100, 8)] Tensor symbols) => Dense(Lstm(symbols, hidden: 32, returnSequences: false), 1, name: "output");
}

[Network]
public partial class MemoryRnn100
{
    Tensor Forward([Shape(100, 8)] Tensor symbols) => Dense(Rnn(symbols, hidden: 32, returnSequences: false), 1, name: "output");
}

[Network]
public partial class MemoryLstm50
{
    Tensor Forward([Shape(50, 8)] Tensor symbols) => Dense(Lstm(symbols, hidden: 32, returnSequences: false), 1, name: "output");
}

[Network]
public partial class MemoryRnn50
{
    Tensor Forward([Shape(50, 8)] Tensor symbols) => Dense(Rnn(symbols, hidden: 32, returnSequences: false), 1, name: "output");
}
