#!/usr/bin/python3
"""PyTorch side of `deepretina bench`: the same models, trained the same way, on the same machine.

Prints one JSON object. Two modes:

  --mode compute   training samples/s of the reference BNCNN or LinearStackedBNCNN (40×50×50
                   input, 5 cells) on one random batch that stays on the device: the model's cost.
  --mode e2e       one epoch of training on a recording in the lab's HDF5 layout, with batches of
                   history windows built on the host from the z-scored stimulus and copied to the
                   device every step, the way torch-deep-retina feeds its models (without its
                   fully materialised T×40×50×50 window tensor, which would not fit in memory).

CUDA is used when available, else the CPU with all cores (Debian's torch defaults to one thread).
The models follow torch-deep-retina: BNCNN = conv 40→8 k15, flat BatchNorm (eps 1e-3, momentum
0.01), Gaussian noise 0.05, ReLU, conv 8→8 k11, flat BatchNorm, noise, ReLU, linear (no bias),
BatchNorm1d, Softplus. LinearStackedBNCNN replaces each big kernel by a stack of 3×3 convolutions
(7 and 5; only the last has a bias) and every batch norm by an "Abs" batch norm (|γ|). Adam,
Poisson loss.
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class GaussianNoise(nn.Module):
    """torch-deep-retina's noise layer: its std is stored as the state-dict entry `sigma`."""

    def __init__(self, std):
        super().__init__()
        self.register_buffer("sigma", torch.tensor([float(std)]))

    def forward(self, x):
        return x + torch.randn_like(x) * self.sigma if self.training else x


class AbsBatchNorm1d(nn.BatchNorm1d):
    """Batch norm whose scale is |γ|, so a unit's sign cannot flip (LinearStackedBNCNN)."""

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight.abs(), self.bias,
                            self.training, self.momentum, self.eps)


def stacked_conv(cin, cout, k):
    n = (k - 1) // 2
    return nn.Sequential(*[nn.Conv2d(cin if i == 0 else cout, cout, 3, bias=(i == n - 1)) for i in range(n)])


def make_model(kind, n_cells, img=(40, 50, 50), chans=(8, 8), ks=(15, 11)):
    s1 = img[1] - ks[0] + 1
    s2 = s1 - ks[1] + 1
    stacked = kind == "linearstacked"
    conv = stacked_conv if stacked else (lambda cin, cout, k: nn.Conv2d(cin, cout, k))
    bn = AbsBatchNorm1d if stacked else nn.BatchNorm1d
    return nn.Sequential(
        conv(img[0], chans[0], ks[0]), nn.Flatten(),
        bn(chans[0] * s1 * s1, eps=1e-3, momentum=0.01), GaussianNoise(0.05), nn.ReLU(),
        nn.Unflatten(1, (chans[0], s1, s1)),
        conv(chans[0], chans[1], ks[1]), nn.Flatten(),
        bn(chans[1] * s2 * s2, eps=1e-3, momentum=0.01), GaussianNoise(0.05), nn.ReLU(),
        nn.Linear(chans[1] * s2 * s2, n_cells, bias=False),
        bn(n_cells, eps=1e-3, momentum=0.01), nn.Softplus())


def device_and_name(threads):
    if torch.cuda.is_available():
        return torch.device("cuda"), "CUDA " + torch.cuda.get_device_name(0)
    torch.set_num_threads(threads)
    return torch.device("cpu"), "CPU, %d threads" % torch.get_num_threads()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    pred = model(x)
    loss = (pred - y * torch.log(pred + 1e-8)).mean()
    loss.backward()
    opt.step()
    return loss


def compute(args, device):
    model = make_model(args.model, args.cells).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    x = torch.randn(args.batch, 40, 50, 50, device=device)
    y = torch.randint(0, 3, (args.batch, args.cells), device=device).float()
    for _ in range(2):  # warm-up: cuDNN autotuning, allocator
        train_step(model, opt, x, y)
    sync(device)
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < args.min_seconds:
        train_step(model, opt, x, y)
        steps += 1
        if steps % 10 == 0:
            sync(device)
    sync(device)
    secs = time.perf_counter() - start
    return {"samples_per_s": args.batch * steps / secs, "steps": steps, "seconds": secs}


def e2e(args, device):
    import h5py
    import numpy as np

    t0 = time.perf_counter()
    with h5py.File(args.h5, "r") as f:
        stim = np.asarray(f["train/stimulus"], dtype=np.float32)
        rates = np.asarray(f["train/response/firing_rate_10ms"], dtype=np.float32).T.copy()
    mean, std = stim.mean(dtype=np.float64), stim.std(dtype=np.float64) + 1e-7
    stim = ((stim - np.float32(mean)) * np.float32(1 / std)).astype(np.float32)
    load_s = time.perf_counter() - t0
    hist, n_cells = 40, rates.shape[1]
    n = stim.shape[0] - hist
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    if args.windows > 0:
        order = order[:args.windows]
    nb = len(order) // args.batch
    model = make_model(args.model, n_cells).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    offsets = np.arange(hist)
    # One warm-up step outside the timing, as the Go side compiles before its first step.
    idx = order[:args.batch]
    train_step(model, opt, torch.from_numpy(stim[idx[:, None] + offsets]).to(device),
               torch.from_numpy(rates[idx + hist]).to(device))
    sync(device)
    start = time.perf_counter()
    for b in range(nb):
        idx = order[b * args.batch:(b + 1) * args.batch]
        x = torch.from_numpy(stim[idx[:, None] + offsets]).to(device, non_blocking=True)
        y = torch.from_numpy(rates[idx + hist]).to(device, non_blocking=True)
        train_step(model, opt, x, y)
    sync(device)
    secs = time.perf_counter() - start
    return {"windows": nb * args.batch, "seconds": secs, "samples_per_s": nb * args.batch / secs,
            "load_seconds": load_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["compute", "e2e"], default="compute")
    ap.add_argument("--model", choices=["bncnn", "linearstacked"], default="bncnn")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--min-seconds", type=float, default=3.0, help="time each compute measurement at least this long")
    ap.add_argument("--h5", help="e2e: the recording (lab layout) to train one epoch on")
    ap.add_argument("--windows", type=int, default=0, help="e2e: windows in the epoch (0: all)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="CPU threads (default: all cores, as the Go side uses)")
    args = ap.parse_args()
    torch.manual_seed(0)
    device, name = device_and_name(args.threads)
    res = compute(args, device) if args.mode == "compute" else e2e(args, device)
    res.update({"torch_version": torch.__version__, "device": name, "mode": args.mode,
                "model": args.model, "batch": args.batch,
                "cuda": torch.version.cuda if device.type == "cuda" else None})
    print(json.dumps(res))


if __name__ == "__main__":
    main()
