#!/usr/bin/python3
"""Loads a `deepretina export` .npz into the reference PyTorch BNCNN and checks that it predicts
what `deepretina predict` wrote for the same stimulus.

usage: check_export.py W.npz STIM.npy PRED.npy HISTORY CHANS0 CHANS1 K0 K1
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from bench_torch import BNCNN  # noqa: E402

w_path, stim_path, pred_path = sys.argv[1:4]
history, c0, c1, k0, k1 = map(int, sys.argv[4:9])
weights = dict(np.load(w_path))
mean, std = float(weights.pop("norm_stats.mean")), float(weights.pop("norm_stats.std"))
stim = np.load(stim_path).astype(np.float32)
pred = np.load(pred_path)
n_cells = weights["sequential.11.weight"].shape[0]
model = BNCNN(n_cells, img=(history, stim.shape[1], stim.shape[2]), chans=(c0, c1), ks=(k0, k1))
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
