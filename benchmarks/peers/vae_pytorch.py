#!/usr/bin/env python3
"""PyTorch peer for `dotnet run -c Release --project examples/Generative -- vae`: the same VAE (784-400-20-400-784,
ReLU, BCE-with-logits summed per image + KL), Adam 1e-3, batch 128, 20 epochs on the 8,000 bundled training digits,
test negative ELBO on the 2,000 test digits after each epoch. Run with Debian's python3-torch (`bash benchmarks/install-peers.sh` installs it):

    /usr/bin/python3 benchmarks/peers/vae_pytorch.py
"""
import gzip, struct, time
import torch
import torch.nn.functional as F


def images(path):
    with gzip.open(path, "rb") as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        return torch.frombuffer(bytearray(f.read(n * rows * cols)), dtype=torch.uint8).float().div(255).reshape(n, rows * cols)


class Vae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.mean, self.logvar = torch.nn.Linear(784, 400), torch.nn.Linear(400, 20), torch.nn.Linear(400, 20)
        self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

    def forward(self, x, noise):
        h = F.relu(self.fc1(x))
        mean, logvar = self.mean(h), self.logvar(h)
        z = mean + torch.exp(0.5 * logvar) * noise
        return self.fc4(F.relu(self.fc3(z))), mean, logvar


def loss(logits, x, mean, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())
    return bce + kl


def main():
    torch.manual_seed(1)
    torch.set_num_threads(2)
    train, test = images("data/mnist/train-images-idx3-ubyte.gz"), images("data/mnist/t10k-images-idx3-ubyte.gz")
    model = Vae()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    test_noise = torch.randn(test.shape[0], 20)
    start = time.perf_counter()
    for epoch in range(1, 21):
        model.train()
        for batch in torch.randperm(train.shape[0]).split(128):
            x = train[batch]
            logits, mean, logvar = model(x, torch.randn(x.shape[0], 20))
            optimizer.zero_grad()
            (loss(logits, x, mean, logvar) / x.shape[0]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            elbo = loss(*model(test, test_noise)[:1], test, *model(test, test_noise)[1:]).item() / test.shape[0]
        print(f"epoch {epoch:2d}  test negative ELBO {elbo:.2f} nats/image  {time.perf_counter() - start:.1f} s", flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: 20 epochs in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
