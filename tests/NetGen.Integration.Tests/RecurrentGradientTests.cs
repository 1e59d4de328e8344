using System;
using System.Linq;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>Finite-difference checks of backpropagation through time (ADR 0003 tolerances), over 5 or more steps.</summary>
public class RecurrentGradientTests
{
    private static NetworkOptions Options(int capacity = 3) => new() { Capacity = capacity, Seed = 8 };

    [Fact] public void Lstm_one_layer_sequences() => GradientCheck.Network(new LstmSequenceNet(Options()));
    [Fact] public void Gru_two_layers_bidirectional() => GradientCheck.Network(new GruTwoLayerBidirectionalNet(Options()));
    [Fact] public void Lstm_two_layers_bidirectional_last_state() => GradientCheck.Network(new LstmTwoLayerBidirectionalLastStateNet(Options()));
    [Fact] public void Rnn_last_state_many_to_one() => GradientCheck.Network(new RnnLastStateNet(Options()));
    [Fact] public void Rnn_two_layers_bidirectional() => GradientCheck.Network(new RnnTwoLayerBidirectionalNet(Options()));
    [Fact] public void Gru_one_layer_last_state() => GradientCheck.Network(new GruLastStateNet(Options()));
    [Fact] public void Step_and_stack() => GradientCheck.Network(new StepStackNet(Options()));

    [Fact]
    public void A_frozen_recurrent_network_passes_input_gradients_but_leaves_its_parameter_gradients_alone()
    {
        var net = new LstmTwoLayerBidirectionalLastStateNet(Options());
        GradientCheck.Frozen(net, frozen => net.Frozen = frozen);
    }

    private static float[] Random(ref Rng rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = rng.NextUniform(-1f, 1f);
        return v;
    }

    [Fact]
    public void Lstm_with_initial_states_and_a_per_step_dense()
    {
        const int batch = 2;
        var net = new LstmInitialStateNet(Options());
        var rng = new Rng(5);
        var x = Random(ref rng, batch * LstmInitialStateNet.XSize);
        var h0 = Random(ref rng, batch * 4);
        var c0 = Random(ref rng, batch * 4);
        var r = Random(ref rng, batch * LstmInitialStateNet.OutputSize);
        double Loss()
        {
            var y = net.Forward(x, h0, c0, batch, training: true);
            double sum = 0;
            for (int i = 0; i < r.Length; i++) sum += (double)r[i] * y[i];
            return sum;
        }
        net.ZeroGradients();
        net.Forward(x, h0, c0, batch, training: true);
        var dx = net.Backward(r).ToArray();
        var dh0 = net.H0Gradient.ToArray();
        var dc0 = net.C0Gradient.ToArray();
        var dp = net.Gradients.ToArray();
        var options = new GradientCheck.Options();
        var report = new GradientCheck.Report(nameof(LstmInitialStateNet));
        foreach (int i in GradientCheck.Sample(net.Parameters.Length, 200, ref rng))
            GradientCheck.Check(Loss, net.Parameters, i, dp[i], "parameter " + GradientCheck.NameOf(net, i), options, report);
        for (int i = 0; i < x.Length; i++) GradientCheck.Check(Loss, x, i, dx[i], "x[" + i + "]", options, report);
        for (int i = 0; i < h0.Length; i++) GradientCheck.Check(Loss, h0, i, dh0[i], "h0[" + i + "]", options, report);
        for (int i = 0; i < c0.Length; i++) GradientCheck.Check(Loss, c0, i, dc0[i], "c0[" + i + "]", options, report);
        report.AssertClean();
    }

    [Fact]
    public void Unrolled_member_cell_shares_weights_through_time()
    {
        const int batch = 2;
        var net = new UnrolledCellNet(Options());
        Assert.Equal(4 * 7 + 4, UnrolledCellNet.ParameterCount); // one Cell, called five times
        var rng = new Rng(6);
        var x = Random(ref rng, batch * UnrolledCellNet.XSize);
        var h = Random(ref rng, batch * UnrolledCellNet.HSize);
        var r = Random(ref rng, batch * UnrolledCellNet.OutputSize);
        double Loss()
        {
            var y = net.Forward(x, h, batch, training: true);
            double sum = 0;
            for (int i = 0; i < r.Length; i++) sum += (double)r[i] * y[i];
            return sum;
        }
        net.ZeroGradients();
        net.Forward(x, h, batch, training: true);
        var dx = net.Backward(r).ToArray();
        var dh = net.HGradient.ToArray();
        var dp = net.Gradients.ToArray();
        var options = new GradientCheck.Options();
        var report = new GradientCheck.Report(nameof(UnrolledCellNet));
        for (int i = 0; i < dp.Length; i++) GradientCheck.Check(Loss, net.Parameters, i, dp[i], "parameter " + GradientCheck.NameOf(net, i), options, report);
        for (int i = 0; i < x.Length; i++) GradientCheck.Check(Loss, x, i, dx[i], "x[" + i + "]", options, report);
        for (int i = 0; i < h.Length; i++) GradientCheck.Check(Loss, h, i, dh[i], "h[" + i + "]", options, report);
        report.AssertClean();
    }

    [Fact]
    public void Recurrent_parameters_use_pytorchs_names_and_shapes()
    {
        var names = GruTwoLayerBidirectionalNet.ParameterSchema.Select(p => p.Name + ":" + p.ShapeText).ToArray();
        Assert.Equal(new[]
        {
            "gru1.weight_ih_l0:9x3", "gru1.weight_hh_l0:9x3", "gru1.bias_ih_l0:9", "gru1.bias_hh_l0:9",
            "gru1.weight_ih_l0_reverse:9x3", "gru1.weight_hh_l0_reverse:9x3", "gru1.bias_ih_l0_reverse:9", "gru1.bias_hh_l0_reverse:9",
            "gru1.weight_ih_l1:9x6", "gru1.weight_hh_l1:9x3", "gru1.bias_ih_l1:9", "gru1.bias_hh_l1:9",
            "gru1.weight_ih_l1_reverse:9x6", "gru1.weight_hh_l1_reverse:9x3", "gru1.bias_ih_l1_reverse:9", "gru1.bias_hh_l1_reverse:9",
        }, names);
    }
}
