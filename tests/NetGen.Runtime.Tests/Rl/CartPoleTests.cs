using System;
using NetGen;
using NetGen.Rl;
using Xunit;

namespace NetGen.Runtime.Tests.Rl;

public class CartPoleTests
{
    /// <summary>
    /// One step of Gym's CartPole-v1 written out from the published equations (Florian 2007 as used by
    /// gym/envs/classic_control/cartpole.py), independently of the class under test.
    /// </summary>
    private static (double X, double XDot, double Theta, double ThetaDot) Reference(double x, double xDot, double theta, double thetaDot, int action)
    {
        const double g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, tau = 0.02;
        double f = action == 1 ? 10.0 : -10.0;
        double total = mc + mp, pml = mp * l;
        double c = Math.Cos(theta), s = Math.Sin(theta);
        double temp = (f + pml * thetaDot * thetaDot * s) / total;
        double thetaAcc = (g * s - c * temp) / (l * (4.0 / 3.0 - mp * c * c / total));
        double xAcc = temp - pml * thetaAcc * c / total;
        return (x + tau * xDot, xDot + tau * xAcc, theta + tau * thetaDot, thetaDot + tau * thetaAcc);
    }

    [Fact]
    public void First_push_from_rest_matches_the_hand_computed_step()
    {
        // From rest, push right: temp = 10/1.1 = 9.0909; thetaAcc = -9.0909/(0.5 * (4/3 - 0.1/1.1)) = -14.6341;
        // xAcc = 9.0909 + 0.05 * 14.6341/1.1 = 9.7561. Euler: x = 0, x' = 0.195122, theta = 0, theta' = -0.292683.
        var env = new CartPole(1);
        var obs = new float[4];
        env.Reset(0, 0, 0, 0, obs);
        var r = env.Step(1, obs);
        Assert.Equal(0.0, env.X, 12);
        Assert.Equal(0.19512195121951, env.XDot, 12);
        Assert.Equal(0.0, env.Theta, 12);
        Assert.Equal(-0.29268292682927, env.ThetaDot, 12);
        Assert.Equal(new[] { 0f, 0.19512195f, 0f, -0.29268292f }, obs);
        Assert.Equal(new StepResult(1f, false, false), r);
    }

    [Fact]
    public void Known_trajectory_matches_the_published_equations()
    {
        var env = new CartPole(1);
        var obs = new float[4];
        var state = (X: 0.01, XDot: -0.02, Theta: 0.03, ThetaDot: -0.04);
        env.Reset(state.X, state.XDot, state.Theta, state.ThetaDot, obs);
        int[] actions = { 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0 };
        foreach (int a in actions)
        {
            state = Reference(state.X, state.XDot, state.Theta, state.ThetaDot, a);
            var r = env.Step(a, obs);
            Assert.False(r.Done);
            Assert.Equal(1f, r.Reward);
            Assert.Equal(state.X, env.X, 12);
            Assert.Equal(state.XDot, env.XDot, 12);
            Assert.Equal(state.Theta, env.Theta, 12);
            Assert.Equal(state.ThetaDot, env.ThetaDot, 12);
            Assert.Equal((float)state.X, obs[0]);
            Assert.Equal((float)state.XDot, obs[1]);
            Assert.Equal((float)state.Theta, obs[2]);
            Assert.Equal((float)state.ThetaDot, obs[3]);
        }
        Assert.Equal(actions.Length, env.EpisodeSteps);
    }

    [Fact]
    public void Pole_angle_past_twelve_degrees_terminates()
    {
        double limit = 12 * 2 * Math.PI / 360;
        Assert.Equal(CartPole.ThetaThreshold, limit);
        var env = new CartPole(1);
        var obs = new float[4];

        // Euler moves theta with the old angular velocity: 0.2 + 0.02 * 0 stays inside.
        env.Reset(0, 0, 0.2, 0, obs);
        Assert.False(env.Step(1, obs).Done);

        env.Reset(0, 0, limit - 0.001, 0.1, obs); // theta becomes limit + 0.001
        var r = env.Step(1, obs);
        Assert.True(r.Terminated);
        Assert.False(r.Truncated);
        Assert.Equal(1f, r.Reward); // the terminating step is rewarded too, as in CartPole-v1
        Assert.True(env.IsDone);

        env.Reset(0, 0, -limit + 0.001, -0.1, obs);
        Assert.True(env.Step(0, obs).Terminated);

        // Exactly at the limit is not past it.
        env.Reset(0, 0, limit, 0, obs);
        Assert.False(env.Step(0, obs).Terminated);
        Assert.Equal(limit, env.Theta);
    }

    [Fact]
    public void Cart_position_past_two_point_four_terminates()
    {
        var env = new CartPole(1);
        var obs = new float[4];
        env.Reset(2.39, 1.0, 0, 0, obs); // x becomes 2.41
        Assert.True(env.Step(1, obs).Terminated);
        env.Reset(-2.39, -1.0, 0, 0, obs);
        Assert.True(env.Step(0, obs).Terminated);
        env.Reset(2.39, 0.4, 0, 0, obs); // x becomes 2.398
        Assert.False(env.Step(1, obs).Done);
    }

    [Fact]
    public void Episode_is_truncated_at_step_500_not_terminated()
    {
        // A PD controller on the pole keeps it up for the whole episode.
        var env = new CartPole(3);
        var obs = new float[4];
        env.Reset(obs);
        for (int t = 1; t <= 500; t++)
        {
            var r = env.Step(obs[2] + 0.5f * obs[3] > 0 ? 1 : 0, obs);
            Assert.False(r.Terminated);
            Assert.Equal(t == 500, r.Truncated);
            Assert.Equal(1f, r.Reward);
        }
        Assert.Equal(500, env.EpisodeSteps);
        Assert.True(env.IsDone);
        Assert.Throws<InvalidOperationException>(() => env.Step(0, obs));
        env.Reset(obs);
        Assert.False(env.IsDone);
        Assert.Equal(0, env.EpisodeSteps);
    }

    [Fact]
    public void Reset_draws_each_variable_uniformly_in_plus_minus_five_hundredths_reproducibly()
    {
        var a = new CartPole(42);
        var b = new CartPole(42);
        var c = new CartPole(43);
        var oa = new float[4];
        var ob = new float[4];
        var oc = new float[4];
        double min = 1, max = -1;
        bool differs = false;
        for (int e = 0; e < 2000; e++)
        {
            a.Reset(oa);
            b.Reset(ob);
            c.Reset(oc);
            Assert.Equal(oa, ob);
            differs |= !oa.AsSpan().SequenceEqual(oc);
            foreach (double v in new[] { a.X, a.XDot, a.Theta, a.ThetaDot })
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }
        Assert.True(differs);
        Assert.InRange(min, -0.05, -0.049);
        Assert.InRange(max, 0.049, 0.05);
    }

    [Fact]
    public void Random_policy_averages_about_twenty_two_steps()
    {
        var env = new CartPole(5);
        var rng = new Rng(6);
        var obs = new float[4];
        double total = 0;
        const int episodes = 2000;
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(obs);
            while (!env.Step(rng.NextInt(2), obs).Done) total++;
            total++;
        }
        Assert.InRange(total / episodes, 20, 24); // the well-known ~22 of a uniformly random policy
    }

    [Fact]
    public void Rejects_bad_actions_steps_before_reset_and_short_observations()
    {
        var env = new CartPole(1);
        var obs = new float[4];
        Assert.Throws<InvalidOperationException>(() => env.Step(0, obs));
        env.Reset(obs);
        Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(2, obs));
        Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(-1, obs));
        Assert.Throws<ArgumentException>(() => env.Reset(new float[3]));
    }
}
