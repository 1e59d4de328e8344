using NetGen;
using static NetGen.Layers;

namespace NetGen.Examples.Dqn;

/// <summary>
/// The CartPole Q-network: the 4 state variables in, one Q value per action (push left, push right) out,
/// through two ReLU layers of 128 units. 17,410 parameters.
/// </summary>
[Network]
public partial class QNetwork
{
    Tensor Forward([Shape(4)] Tensor state) => Dense(Relu(Dense(Relu(Dense(state, 128)), 128)), 2);
}

/// <summary>
/// The Atari network of Mnih et al. (2015), "Human-level control through deep reinforcement learning":
/// four stacked 84x84 frames in, one Q value per action out (6 actions, as Pong or Space Invaders).
/// Conv 32 8x8/4, Conv 64 4x4/2, Conv 64 3x3/1, each with ReLU, then 512 ReLU units. 1,687,206 parameters.
/// Declared and shape-checked at build time; not trained by this example.
/// </summary>
[Network]
public partial class AtariDqn
{
    Tensor Forward([Shape(4, 84, 84)] Tensor frames)
    {
        var x = Relu(Conv2d(frames, 32, kernel: 8, stride: 4));   // 32x20x20
        x = Relu(Conv2d(x, 64, kernel: 4, stride: 2));            // 64x9x9
        x = Relu(Conv2d(x, 64, kernel: 3, stride: 1));            // 64x7x7
        x = Relu(Dense(Flatten(x), 512));                         // 3136 -> 512
        return Dense(x, 6);
    }
}
