using System;

namespace NetGen.Rl;

/// <summary>
/// Fixed-capacity experience replay memory (Lin, 1992; Mnih et al., 2015): a ring of transitions
/// (state, action, reward, next state, terminal flag) in arrays allocated once by the constructor.
/// When full, each <see cref="Add"/> overwrites the oldest transition. <see cref="Sample"/> draws a
/// mini-batch uniformly with replacement. Nothing allocates after construction.
/// </summary>
public sealed class ReplayBuffer
{
    private readonly float[] _states;      // [capacity x stateSize]
    private readonly float[] _nextStates;  // [capacity x stateSize]
    private readonly int[] _actions;       // [capacity]
    private readonly float[] _rewards;     // [capacity]
    private readonly float[] _terminal;    // [capacity], 1 = terminal next state (no future reward), 0 otherwise
    private int _next;                     // slot the next Add writes
    private int _count;

    public ReplayBuffer(int capacity, int stateSize)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The replay capacity must be positive.");
        if (stateSize < 1) throw new ArgumentOutOfRangeException(nameof(stateSize), stateSize, "The state size must be positive.");
        if ((long)capacity * stateSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"{capacity} transitions of {stateSize} floats exceed the largest array.");
        Capacity = capacity;
        StateSize = stateSize;
        _states = new float[capacity * stateSize];
        _nextStates = new float[capacity * stateSize];
        _actions = new int[capacity];
        _rewards = new float[capacity];
        _terminal = new float[capacity];
    }

    public int Capacity { get; }

    /// <summary>Floats per state.</summary>
    public int StateSize { get; }

    /// <summary>Transitions held (at most <see cref="Capacity"/>).</summary>
    public int Count => _count;

    /// <summary>The slot the next <see cref="Add"/> writes (the oldest transition once the ring is full).</summary>
    public int NextIndex => _next;

    /// <summary>Transitions ever added.</summary>
    public long TotalAdded { get; private set; }

    /// <summary>Stores one transition, overwriting the oldest when full. <paramref name="terminal"/> means the next state ends the episode for real (not a time-limit truncation).</summary>
    public void Add(ReadOnlySpan<float> state, int action, float reward, ReadOnlySpan<float> nextState, bool terminal)
    {
        if (state.Length != StateSize) throw new ArgumentException($"Expected a state of {StateSize} floats; got {state.Length}.", nameof(state));
        if (nextState.Length != StateSize) throw new ArgumentException($"Expected a next state of {StateSize} floats; got {nextState.Length}.", nameof(nextState));
        int i = _next;
        state.CopyTo(_states.AsSpan(i * StateSize, StateSize));
        nextState.CopyTo(_nextStates.AsSpan(i * StateSize, StateSize));
        _actions[i] = action;
        _rewards[i] = reward;
        _terminal[i] = terminal ? 1f : 0f;
        _next = i + 1 == Capacity ? 0 : i + 1;
        if (_count < Capacity) _count++;
        TotalAdded++;
    }

    /// <summary>The state of slot <paramref name="index"/> (0 .. Capacity-1, ring order).</summary>
    public ReadOnlySpan<float> State(int index) => _states.AsSpan(CheckIndex(index) * StateSize, StateSize);

    public ReadOnlySpan<float> NextState(int index) => _nextStates.AsSpan(CheckIndex(index) * StateSize, StateSize);

    public int Action(int index) => _actions[CheckIndex(index)];

    public float Reward(int index) => _rewards[CheckIndex(index)];

    public bool IsTerminal(int index) => _terminal[CheckIndex(index)] != 0f;

    /// <summary>Forgets every transition (the arrays are kept).</summary>
    public void Clear()
    {
        _next = 0;
        _count = 0;
    }

    /// <summary>
    /// Copies <paramref name="batch"/> transitions drawn uniformly with replacement into the caller's
    /// buffers: states and nextStates [batch x StateSize], actions, rewards and terminal flags (1 or 0) [batch].
    /// </summary>
    public void Sample(ref Rng rng, int batch, Span<float> states, Span<int> actions, Span<float> rewards,
        Span<float> nextStates, Span<float> terminal)
    {
        if (_count == 0) throw new InvalidOperationException("Cannot sample from an empty replay buffer.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must be positive.");
        int s = StateSize;
        if (states.Length < batch * s) throw new ArgumentException($"states needs {batch * s} floats; got {states.Length}.", nameof(states));
        if (nextStates.Length < batch * s) throw new ArgumentException($"nextStates needs {batch * s} floats; got {nextStates.Length}.", nameof(nextStates));
        if (actions.Length < batch) throw new ArgumentException($"actions needs {batch} entries; got {actions.Length}.", nameof(actions));
        if (rewards.Length < batch) throw new ArgumentException($"rewards needs {batch} entries; got {rewards.Length}.", nameof(rewards));
        if (terminal.Length < batch) throw new ArgumentException($"terminal needs {batch} entries; got {terminal.Length}.", nameof(terminal));
        for (int b = 0; b < batch; b++)
        {
            int i = rng.NextInt(_count);
            _states.AsSpan(i * s, s).CopyTo(states.Slice(b * s, s));
            _nextStates.AsSpan(i * s, s).CopyTo(nextStates.Slice(b * s, s));
            actions[b] = _actions[i];
            rewards[b] = _rewards[i];
            terminal[b] = _terminal[i];
        }
    }

    private int CheckIndex(int index) =>
        (uint)index < (uint)_count ? index : throw new ArgumentOutOfRangeException(nameof(index), index, $"The replay buffer holds {_count} transitions.");
}
