#!/usr/bin/python3
"""Trivial populations written as reference-format BNCNN checkpoints, for the phenomena tests.

Run with Debian's Python (PyTorch 1.13, CPU):

    /usr/bin/python3 scripts/planted_checkpoints.py

Writes cmd/deepretina/testdata/planted/{ln,linear}.pt: BNCNNs (newest module order, 40-frame
history, 20×20 pixels, one channel per layer, kernels 9 and 3, 5 outputs) whose weights make
them an LN population and a linear population, with no adaptation, no subunits and no
recurrence:

  conv1     one spatiotemporal kernel: a centre-surround (difference of Gaussians, σ 1.2 and
            2.5 px, surround 0.8 of the centre's volume) × biphasic OFF temporal filter (peaks
            near 50 and 100 ms), unit L2 norm, bias 100 so that the ReLU never rectifies;
  BN, BN    identities (running mean 0, running variance 1 − eps, weight 1, bias 0);
  conv2     a 3×3 delta (passes the map through);
  dense     output i reads one position of the 10×10 map (receptive fields centred at input
            pixels (7,7), (7,12), (12,7), (12,12), (10,10));
  BN(n)     running mean 100 (removes conv1's bias), weight a, bias b;
  softplus  LN: rate = softplus(3·L) — a static nonlinearity;
            linear: rate = softplus(3·L + 30) ≈ 30 + 3·L wherever 3·L > −25.

The stored norm_stats are mean 0, std 1 (the battery's z-scored units pass through unchanged).
Deterministic: no random numbers.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_checkpoints import RetinaCNN  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT_DIR = os.path.join(ROOT, "cmd", "deepretina", "testdata", "planted")
HIST, H, W, K1, K2 = 40, 20, 20, 9, 3
POSITIONS = [(2, 2), (2, 7), (7, 2), (7, 7), (5, 5)]  # on conv2's 10×10 map


def kernel():
    r = np.arange(K1) - (K1 - 1) / 2
    d2 = r[:, None] ** 2 + r[None, :] ** 2
    centre = np.exp(-d2 / (2 * 1.2 ** 2)) / (2 * np.pi * 1.2 ** 2)
    surround = np.exp(-d2 / (2 * 2.5 ** 2)) / (2 * np.pi * 2.5 ** 2)
    spatial = centre - 0.8 * surround
    t = np.arange(HIST) / 100.0  # lag in seconds
    temporal = -(t / 0.05 * np.exp(1 - t / 0.05) - 0.6 * t / 0.1 * np.exp(1 - t / 0.1))
    # Channel j of the window is frame j; the newest frame (lag 0) is channel HIST-1.
    k = temporal[::-1, None, None] * spatial[None, :, :]
    return k / np.sqrt((k ** 2).sum())


def build(kind):
    model = RetinaCNN(len(POSITIONS), [HIST, H, W], [1, 1], [K1, K2], noise=0.05)
    eps = 1e-3
    with torch.no_grad():
        seq = model.sequential
        seq[0].weight.copy_(torch.tensor(kernel()[None], dtype=torch.float32))
        seq[0].bias.fill_(100.0)
        for bn in (seq[2], seq[8]):
            bn.running_mean.zero_()
            bn.running_var.fill_(1 - eps)
            bn.weight.fill_(1.0)
            bn.bias.zero_()
        seq[6].weight.zero_()
        seq[6].weight[0, 0, 1, 1] = 1.0
        seq[6].bias.zero_()
        dense = seq[13]
        dense.weight.zero_()
        for i, (y, x) in enumerate(POSITIONS):
            dense.weight[i, y * 10 + x] = 1.0
        bn = seq[14]
        bn.running_mean.fill_(100.0)
        bn.running_var.fill_(1 - eps)
        bn.weight.fill_(3.0)
        bn.bias.fill_(30.0 if kind == "linear" else 0.0)
    model.eval()
    return model


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for kind in ("ln", "linear"):
        model = build(kind)
        hyps = {
            "exp_name": "planted_" + kind, "model_type": "BNCNN", "dataset": "sim-small", "cells": "all",
            "stim_type": "whitenoise", "lossfxn": "PoissonNLLLoss", "softplus": True, "batch_size": 512,
            "n_epochs": 1, "lr": 0.001, "l1": 0.0, "l2": 0.0, "noise": 0.05, "bias": True, "gc_bias": False,
            "bnorm": True, "bnorm_d": 1, "n_layers": 3, "drop_p": 0, "bn_moment": 0.01, "chans": [1, 1],
            "ksizes": [K1, K2], "img_shape": [HIST, H, W], "stackconvs": False, "n_units": len(POSITIONS), "seed": 0,
        }
        ckpt = {"model_type": "BNCNN", "model_state_dict": model.state_dict(), "epoch": 0, "hyps": hyps,
                "norm_stats": {"mean": np.float32(0), "std": np.float32(1)}}
        path = os.path.join(OUT_DIR, kind + ".pt")
        torch.save(ckpt, path)
        # A check that the weights are what the docstring says: a full-field −1 step.
        x = torch.zeros(1, HIST, H, W)
        x[0, -10:] = -1
        print(path, "step response after 10 frames:", model(x).detach().numpy().round(3))


if __name__ == "__main__":
    main()
