#!/usr/bin/env python3
"""PyTorch eager peer for benchmarks/NetGen.Benchmarks' LeNet5Benchmarks and ResNet18Benchmarks: the same networks
(LeNet-5 as examples/LeNet5 declares it; ResNet-18 in torchvision's layout, 3x224x224, 1000 classes), the same
operations (SGD step with momentum 0.9 and weight decay, softmax cross-entropy; inference in eval mode, no autograd)
and batch sizes, on the CPU with 2 threads. Run with Debian's python3-torch (`bash benchmarks/install-peers.sh` installs it):

    /usr/bin/python3 benchmarks/peers/cnn_pytorch.py [--repeats 7]

For each operation: warm-up, then `repeats` rounds of enough calls to fill ~0.5 s; prints the mean time per call of
each round's calls, and the median and spread over the rounds (the same shape as BenchmarkDotNet's Mean / StdDev).
"""
import argparse, os, platform, statistics, sys, time
import torch
import torch.nn.functional as F

# The networks are the GPU reference's (benchmarks/gpu/torch_reference.py), defined once for both peers.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gpu"))
from torch_reference import LeNet5, BasicBlock, ResNet  # noqa: E402


def measure(name, fn, repeats):
    for _ in range(3):
        fn()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.5:
        fn()
        calls += 1
    per_round = max(1, calls)
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(per_round):
            fn()
        means.append((time.perf_counter() - start) / per_round)
    median, spread = statistics.median(means), statistics.stdev(means) if len(means) > 1 else 0.0
    unit, scale = ("ms", 1e3) if median >= 1e-3 else ("us", 1e6)
    print(f"| {name:<32} | {median * scale:10.2f} {unit} | {spread * scale:8.2f} {unit} | {per_round:6d} |", flush=True)


def train_step(net, images, labels, opt):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(images), labels)
    loss.backward()
    opt.step()
    return loss.item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(2)
    print(f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads, oneDNN {torch.backends.mkldnn.is_available()}, "
          f"Python {platform.python_version()}, {platform.processor() or platform.machine()}")
    print(f"| {'operation':<32} | {'median':>13} | {'stdev':>11} | {'calls':>6} |")
    print(f"| {'-' * 32} | {'-' * 13}:| {'-' * 11}:| {'-' * 6}:|")

    lenet = LeNet5()
    images, labels = torch.rand(64, 1, 28, 28) * 3 - 0.5, torch.randint(0, 10, (64,))
    opt = torch.optim.SGD(lenet.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    measure("LeNet-5 train step, batch 64", lambda: train_step(lenet, images, labels, opt), args.repeats)
    lenet.eval()
    with torch.no_grad():
        measure("LeNet-5 inference, batch 1", lambda: lenet(images[:1])[0, 0].item(), args.repeats)
        measure("LeNet-5 inference, batch 64", lambda: lenet(images)[0, 0].item(), args.repeats)

    resnet = ResNet(BasicBlock, (2, 2, 2, 2))
    images, labels = torch.rand(8, 3, 224, 224) * 4 - 2, torch.randint(0, 1000, (8,))
    opt = torch.optim.SGD(resnet.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    resnet.eval()
    with torch.no_grad():
        measure("ResNet-18 inference, batch 1", lambda: resnet(images[:1])[0, 0].item(), args.repeats)
    resnet.train()
    measure("ResNet-18 train step, batch 8", lambda: train_step(resnet, images, labels, opt), args.repeats)


if __name__ == "__main__":
    main()
