#!/usr/bin/env python3
"""Reference logits of torchvision's ResNet-18 for the PyTorch interop test.

No pretrained weights can be downloaded here, so every tensor is filled by a formula that the C# test
(tests/NetGen.Integration.Tests/TorchInteropTests.cs) evaluates identically:

    t      = sum((j + 1) * ord(c) for j, c in enumerate(name)) % 997
    u[i]   = sin(0.37 * i + 1.3 * t)                     (double precision, then float32)
    conv / fc weight : sqrt(1 / fan_in) * u              (fan_in = in_channels * k * k, or in_features)
    bn weight        : 1 + 0.2 * u      bn bias, fc bias, running_mean : 0.1 * u
    running_var      : 1 + 0.3 * u      num_batches_tracked : 7 (int64, ignored by NetGen)
    input[i]         = sin(0.001 * i)   one 3x224x224 image

The model runs in eval mode (BatchNorm uses the running statistics). Output: the 1,000 logits and the
state_dict's tensor names, dtypes and shapes in order, so the test can write the safetensors file exactly
as `safetensors.torch.save_file(model.state_dict(), path)` would. Run with Debian's python3-torch 1.13 and
python3-torchvision 0.14:

    /usr/bin/python3 scripts/torchvision-resnet18-reference.py > tests/NetGen.Integration.Tests/Data/resnet18-torchvision-reference.txt
"""
import math

import torch
import torchvision


def unit(name, count):
    t = sum((j + 1) * ord(c) for j, c in enumerate(name)) % 997
    return torch.tensor([math.sin(0.37 * i + 1.3 * t) for i in range(count)], dtype=torch.float64).to(torch.float32)


def fill(name, tensor):
    u = unit(name, tensor.numel()).reshape(tensor.shape)
    if name.endswith("num_batches_tracked"):
        return torch.full_like(tensor, 7)
    if name.endswith("running_var"):
        return 1 + 0.3 * u
    if name.endswith("running_mean") or name.endswith(".bias"):
        return 0.1 * u
    if tensor.dim() == 1:  # BatchNorm weight
        return 1 + 0.2 * u
    fan_in = tensor[0].numel()
    return math.sqrt(1.0 / fan_in) * u


def main():
    torch.set_num_threads(1)
    model = torchvision.models.resnet18()
    state = model.state_dict()
    with torch.no_grad():
        model.load_state_dict({name: fill(name, tensor) for name, tensor in state.items()})
    model.eval()
    image = torch.tensor([math.sin(0.001 * i) for i in range(3 * 224 * 224)], dtype=torch.float64).to(torch.float32).reshape(1, 3, 224, 224)
    with torch.no_grad():
        logits = model(image)[0]
    print(f"# torchvision {torchvision.__version__} resnet18, torch {torch.__version__}: formula weights, eval mode (scripts/torchvision-resnet18-reference.py)")
    for name, tensor in state.items():
        dtype = {torch.float32: "F32", torch.int64: "I64"}[tensor.dtype]
        print(f"tensor {name} {dtype} {','.join(str(d) for d in tensor.shape)}")
    for value in logits.tolist():
        print(f"logit {value!r}")


if __name__ == "__main__":
    main()
