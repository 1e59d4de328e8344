using NetGen.Tests.Shared;
using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Rl;
using Xunit;

namespace NetGen.Runtime.Tests.Rl;

public class ReplayBufferTests
{
    /// <summary>Transition i: state (i, -i), action i % 3, reward 10 i, next state (i + 0.5, -i), terminal when i is odd.</summary>
    private static void AddTransition(ReplayBuffer buffer, int i) =>
        buffer.Add(new float[] { i, -i }, i % 3, 10 * i, new float[] { i + 0.5f, -i }, i % 2 == 1);

    private static void AssertSlotHolds(ReplayBuffer buffer, int slot, int i)
    {
        Assert.Equal(new float[] { i, -i }, buffer.State(slot).ToArray());
        Assert.Equal(new float[] { i + 0.5f, -i }, buffer.NextState(slot).ToArray());
        Assert.Equal(i % 3, buffer.Action(slot));
        Assert.Equal(10f * i, buffer.Reward(slot));
        Assert.Equal(i % 2 == 1, buffer.IsTerminal(slot));
    }

    [Fact]
    public void Fills_then_wraps_around_overwriting_the_oldest()
    {
        var buffer = new ReplayBuffer(3, 2);
        Assert.Equal(0, buffer.Count);
        AddTransition(buffer, 0);
        AddTransition(buffer, 1);
        Assert.Equal(2, buffer.Count);
        Assert.Equal(2, buffer.NextIndex);
        AddTransition(buffer, 2);
        Assert.Equal(3, buffer.Count);
        Assert.Equal(0, buffer.NextIndex);

        AddTransition(buffer, 3); // overwrites transition 0 in slot 0
        AddTransition(buffer, 4); // overwrites transition 1 in slot 1
        Assert.Equal(3, buffer.Count);
        Assert.Equal(2, buffer.NextIndex);
        Assert.Equal(5, buffer.TotalAdded);
        AssertSlotHolds(buffer, 0, 3);
        AssertSlotHolds(buffer, 1, 4);
        AssertSlotHolds(buffer, 2, 2);

        for (int i = 5; i < 3 * 7 + 1; i++) AddTransition(buffer, i); // many laps
        Assert.Equal(3, buffer.Count);
        AssertSlotHolds(buffer, 21 % 3, 21);
        AssertSlotHolds(buffer, 20 % 3, 20);
        AssertSlotHolds(buffer, 19 % 3, 19);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Action(3));
    }

    [Fact]
    public void Samples_whole_transitions_only_from_what_is_held()
    {
        var buffer = new ReplayBuffer(4, 2);
        for (int i = 0; i < 6; i++) AddTransition(buffer, i); // holds 2, 3, 4, 5
        var rng = new Rng(11);
        const int batch = 64;
        var states = new float[batch * 2];
        var next = new float[batch * 2];
        var actions = new int[batch];
        var rewards = new float[batch];
        var terminal = new float[batch];
        var seen = new HashSet<int>();
        for (int round = 0; round < 10; round++)
        {
            buffer.Sample(ref rng, batch, states, actions, rewards, next, terminal);
            for (int b = 0; b < batch; b++)
            {
                int i = (int)states[2 * b];
                Assert.InRange(i, 2, 5);
                seen.Add(i);
                Assert.Equal(-i, states[2 * b + 1]);
                Assert.Equal(i + 0.5f, next[2 * b]);
                Assert.Equal(-i, next[2 * b + 1]);
                Assert.Equal(i % 3, actions[b]);
                Assert.Equal(10f * i, rewards[b]);
                Assert.Equal(i % 2 == 1 ? 1f : 0f, terminal[b]);
            }
        }
        Assert.Equal(4, seen.Count);
    }

    [Fact]
    public void Partly_filled_buffer_samples_only_written_slots()
    {
        var buffer = new ReplayBuffer(100, 2);
        AddTransition(buffer, 7);
        var rng = new Rng(1);
        var states = new float[16];
        var next = new float[16];
        var actions = new int[8];
        var rewards = new float[8];
        var terminal = new float[8];
        buffer.Sample(ref rng, 8, states, actions, rewards, next, terminal);
        Assert.All(rewards, r => Assert.Equal(70f, r));
        buffer.Clear();
        Assert.Equal(0, buffer.Count);
        Assert.Throws<InvalidOperationException>(() => buffer.Sample(ref rng, 8, states, actions, rewards, next, terminal));
    }

    [Fact]
    public void Add_and_sample_allocate_nothing()
    {
        var buffer = new ReplayBuffer(50, 4);
        var s = new float[] { 1, 2, 3, 4 };
        var n = new float[] { 5, 6, 7, 8 };
        var rng = new Rng(2);
        var states = new float[32 * 4];
        var next = new float[32 * 4];
        var actions = new int[32];
        var rewards = new float[32];
        var terminal = new float[32];
        buffer.Add(s, 1, 1f, n, false);
        buffer.Sample(ref rng, 32, states, actions, rewards, next, terminal);
        var sampler = rng;
        int i = 0;
        void Step()
        {
            buffer.Add(s, i & 1, 1f, n, (i & 7) == 0);
            buffer.Sample(ref sampler, 32, states, actions, rewards, next, terminal);
            i++;
        }
        Assert.Equal(0, Allocations.SteadyState(Step, callsPerWindow: 100));
    }

    [Fact]
    public void Rejects_bad_sizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayBuffer(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayBuffer(4, 0));
        var buffer = new ReplayBuffer(4, 2);
        Assert.Throws<ArgumentException>(() => buffer.Add(new float[3], 0, 0, new float[2], false));
        Assert.Throws<ArgumentException>(() => buffer.Add(new float[2], 0, 0, new float[1], false));
        buffer.Add(new float[2], 0, 0, new float[2], false);
        var rng = new Rng(1);
        Assert.Throws<ArgumentException>(() => buffer.Sample(ref rng, 4, new float[7], new int[4], new float[4], new float[8], new float[4]));
        Assert.Throws<ArgumentException>(() => buffer.Sample(ref rng, 4, new float[8], new int[3], new float[4], new float[8], new float[4]));
    }
}
