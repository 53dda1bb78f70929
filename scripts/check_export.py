#!/usr/bin/python3
"""Loads a `deepretina export` .npz into the reference's newest PyTorch BNCNN (or
LinearStackedBNCNN) class with load_state_dict(strict=True), and checks that it predicts what
`deepretina predict` wrote for the same stimulus.

usage: check_export.py W.npz STIM.npy PRED.npy HISTORY CHANS0 CHANS1 K0 K1 [BNCNN|LinearStackedBNCNN]
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from torchref import RetinaCNN  # noqa: E402  (the reference's classes, newest module order)

w_path, stim_path, pred_path = sys.argv[1:4]
history, c0, c1, k0, k1 = map(int, sys.argv[4:9])
model_type = sys.argv[9] if len(sys.argv) > 9 else "BNCNN"
weights = dict(np.load(w_path))
mean, std = float(weights.pop("norm_stats.mean")), float(weights.pop("norm_stats.std"))
stim = np.load(stim_path).astype(np.float32)
pred = np.load(pred_path)
n_cells = weights["sequential.13.weight"].shape[0]
model = RetinaCNN(n_cells, (history, stim.shape[1], stim.shape[2]), (c0, c1), (k0, k1),
                  stacked=(model_type == "LinearStackedBNCNN"), order="newest",
                  linear_bias="sequential.13.bias" in weights)
model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=True)
model.eval()
z = (stim - mean) / std
windows = np.stack([z[t:t + history] for t in range(len(z) - history)])
with torch.no_grad():
    ref = model(torch.from_numpy(windows)).numpy()
assert ref.shape == pred.shape, (ref.shape, pred.shape)
err = np.max(np.abs(ref - pred) / (np.abs(ref) + 1e-3))
print(f"max relative error {err:.2e}")
sys.exit(0 if err < 1e-4 else 1)
