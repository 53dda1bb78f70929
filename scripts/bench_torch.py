#!/usr/bin/python3
"""Training throughput of the reference BNCNN in PyTorch (CPU), the yardstick for
`deepretina bench`. Prints one JSON line: {"torch_samples_per_s": ..., "torch_version": ...}.

The model is torch-deep-retina's BNCNN: conv 40→8 k15, flat BatchNorm (eps 1e-3, momentum 0.01),
Gaussian noise 0.05, ReLU, conv 8→8 k11, flat BatchNorm, noise, ReLU, linear (no bias),
BatchNorm1d, Softplus; Adam on the Poisson loss.
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn


class GaussianNoise(nn.Module):
    """torch-deep-retina's noise layer: its std is stored as the state-dict entry `sigma`."""

    def __init__(self, std):
        super().__init__()
        self.register_buffer("sigma", torch.tensor([float(std)]))

    def forward(self, x):
        return x + torch.randn_like(x) * self.sigma if self.training else x


class BNCNN(nn.Module):
    """The reference's module layout: everything in `self.sequential`, so state-dict keys read
    `sequential.0.weight`, …"""

    def __init__(self, n_cells, img=(40, 50, 50), chans=(8, 8), ks=(15, 11)):
        super().__init__()
        self.sequential = bncnn_layers(n_cells, img, chans, ks)

    def forward(self, x):
        return self.sequential(x)


def bncnn_layers(n_cells, img, chans, ks):
    s1 = img[1] - ks[0] + 1
    s2 = s1 - ks[1] + 1
    return nn.Sequential(
        nn.Conv2d(img[0], chans[0], ks[0]), nn.Flatten(),
        nn.BatchNorm1d(chans[0] * s1 * s1, eps=1e-3, momentum=0.01), GaussianNoise(0.05), nn.ReLU(),
        nn.Unflatten(1, (chans[0], s1, s1)),
        nn.Conv2d(chans[0], chans[1], ks[1]), nn.Flatten(),
        nn.BatchNorm1d(chans[1] * s2 * s2, eps=1e-3, momentum=0.01), GaussianNoise(0.05), nn.ReLU(),
        nn.Linear(chans[1] * s2 * s2, n_cells, bias=False),
        nn.BatchNorm1d(n_cells, eps=1e-3, momentum=0.01), nn.Softplus())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="CPU threads (default: all cores, as the Go side uses; Debian's torch may default to 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BNCNN(args.cells)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    x = torch.randn(args.batch, 40, 50, 50)
    y = torch.randint(0, 3, (args.batch, args.cells)).float()

    def step():
        opt.zero_grad()
        pred = model(x)
        loss = (pred - y * torch.log(pred + 1e-8)).mean()
        loss.backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    rate = args.batch * args.steps / (time.perf_counter() - start)
    print(json.dumps({"torch_samples_per_s": rate, "torch_version": torch.__version__,
                      "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
