#!/usr/bin/env python3
"""PyTorch eager reference for netgen-gpucheck's timings, on the same machine in the same session.

Times exactly what examples/GpuCheck times: a training step (forward, cross-entropy, backward, SGD momentum 0.9,
and reading the loss back to the host, as NetGen's TrainStep returns it) and inference forward passes, median of 30
runs after 5 warm-up runs. Each twice: with the input already on the GPU, and copied from (pageable) host memory each
time, as NetGen's TrainStep and Forward copy it from the caller's array; compare NetGen with the second. LeNet-5 in
fp32 (TF32 off); ResNet-18 / ResNet-50 with TF32 allowed, as the issue's targets say; the sequence example's 2-layer LSTM (MSE on random targets) in fp32, against PyTorch's cuDNN LSTM.
Networks are defined here (torchvision may be absent) with torchvision's layer structure.

    python3 benchmarks/gpu/torch_reference.py
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    """examples/LeNet5/LeNet5.cs: tanh, average pooling, C1 padding 2."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.tanh(self.c5(x))
        return self.output(torch.tanh(self.f6(torch.flatten(x, 1))))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = None
        if stride != 1 or inp != width:
            self.downsample = nn.Sequential(nn.Conv2d(inp, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, width, stride):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, counts):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, inp = [], 64
        for width, blocks, stride in zip((64, 128, 256, 512), counts, (1, 2, 2, 2)):
            for i in range(blocks):
                layers.append(block(inp, width, stride if i == 0 else 1))
                inp = width * block.expansion
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inp, 1000)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class SeparationNet(nn.Module):
    """examples/Sequence/Networks.cs: a 2-layer LSTM of 128 over 65 frames of 129 bins, per-frame Dense 258, sigmoid."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(129, 128, num_layers=2, batch_first=True)
        self.output = nn.Linear(128, 258)

    def forward(self, x):
        return torch.sigmoid(self.output(self.lstm(x)[0]))


def median_ms(run, warmup=5, runs=30):
    for _ in range(warmup):
        run()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_both(label, batch, tf32, x, run):
    """Times run(inputs) with the input on the GPU, then copied from pageable host memory each time (as NetGen copies
    from the caller's float[]), and prints both."""
    x_host = x.cpu()
    for where, inputs in (("input on the GPU", lambda: x), ("input copied from the host, as NetGen", lambda: x_host.cuda())):
        ms = median_ms(lambda: run(inputs))
        print(f"  {label} batch {batch:3d} {'TF32' if tf32 else 'fp32'}: {ms:8.3f} ms  {batch * 1000 / ms:10.0f} images/s  (PyTorch eager, {where})")


def train_step(name, model, shape, batch, tf32, mse_targets=None):
    """Cross-entropy on class labels, or (mse_targets: the output's per-sample shape) MSE on random targets."""
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    model = model.cuda().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, *shape, device="cuda")
    labels = (torch.arange(batch, device="cuda") % model_outputs(model)).long()
    targets = None if mse_targets is None else torch.rand(batch, *mse_targets, device="cuda")

    def step(inputs):
        optimizer.zero_grad(set_to_none=False)
        output = model(inputs())
        loss = F.cross_entropy(output, labels) if targets is None else F.mse_loss(output, targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    time_both(f"{name:<10} train step ", batch, tf32, x, step)


def inference(name, model, shape, batch, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    model = model.cuda().eval()
    x = torch.rand(batch, *shape, device="cuda")

    def run(inputs):
        with torch.no_grad():
            return model(inputs()).cpu()  # NetGen's Forward returns the output on the host

    time_both(f"{name:<10} inference  ", batch, tf32, x, run)


def model_outputs(model):
    return model.output.out_features if hasattr(model, "output") else model.fc.out_features


def main():
    if not torch.cuda.is_available():
        print("skipped: no CUDA device (torch.cuda.is_available() is False)")
        return 3
    print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}")
    train_step("LeNet-5", LeNet5(), (1, 28, 28), 64, tf32=False)
    train_step("ResNet-18", ResNet(BasicBlock, (2, 2, 2, 2)), (3, 224, 224), 64, tf32=True)
    train_step("ResNet-50", ResNet(Bottleneck, (3, 4, 6, 3)), (3, 224, 224), 64, tf32=True)
    inference("ResNet-50", ResNet(Bottleneck, (3, 4, 6, 3)), (3, 224, 224), 1, tf32=True)
    inference("ResNet-50", ResNet(Bottleneck, (3, 4, 6, 3)), (3, 224, 224), 64, tf32=True)
    train_step("LSTM 2x128", SeparationNet(), (65, 129), 16, tf32=False, mse_targets=(65, 258))
    return 0


if __name__ == "__main__":
    sys.exit(main())
