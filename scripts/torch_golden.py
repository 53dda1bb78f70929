#!/usr/bin/python3
"""Golden PyTorch outputs for the Go package retina (model parity tests).

Run with Debian's Python (PyTorch 1.13, CPU):

    /usr/bin/python3 scripts/torch_golden.py

It rebuilds the reference torch-deep-retina models (BNCNN, LinearStackedBNCNN, and an LN
baseline) with the reference's module layout, so the state-dict names are the reference's, sets
random weights and random non-trivial batch-norm running statistics, and writes, per model and
shape, torchio/testdata/golden_<model>_<size>.npz holding:

  sd.<key>        the state dict (float32; num_batches_tracked int64)
  x_int8, x_scale the input batch x = x_int8 * x_scale  [B, History, H, W] (exact in float32)
  y               a fixed target [B, n_cells]
  eval_rates      eval-mode output
  eval_conv1/2    eval-mode post-ReLU hidden activations [B, C, H, W] (CNNs, small shape only)
  train_rates     training-mode output with noise std 0 (batch statistics)
  train_loss      Poisson loss mean(pred - y*log(pred+1e-8)) of train_rates
  grad.<key>      gradient of train_loss wrt every trainable parameter
  after.<key>     batch-norm running statistics after that training step (small shape only)

All reference values are computed in float64 from the float32 parameters and inputs, then stored
as float32. Deterministic: fixed seeds, no data-dependent randomness.
"""
import copy
import os

import numpy as np
import torch

# The reference's modules, shared with the other golden scripts.
from torchref import LN, BNCNN, LinearStackedBNCNN, noise_modules, poisson_loss, randomize

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torchio", "testdata")


def make_golden(name, model, img_shape, batch, n_cells, rng, small):
    x_int8 = rng.integers(-48, 49, size=(batch, *img_shape)).astype(np.int8)
    x_scale = np.float32(1.0 / 16.0)
    x = torch.tensor(x_int8.astype(np.float32) * x_scale)
    x_calib = torch.tensor(rng.integers(-48, 49, size=(max(batch, 4), *img_shape)).astype(np.float32) / 16.0)
    if not isinstance(model, LN):
        randomize(model, rng, x_calib)
    y = torch.tensor(rng.poisson(1.0, size=(batch, n_cells)).astype(np.float32))

    out = {}
    sd = model.state_dict()
    for k, v in sd.items():
        out["sd." + k] = v.detach().cpu().numpy().copy()
    out["x_int8"] = x_int8
    out["x_scale"] = np.array(x_scale, dtype=np.float32)
    out["y"] = y.numpy()

    # Everything below in float64, from the float32 values.
    md = copy.deepcopy(model).double()
    for nm in noise_modules(md):
        nm.std = 0  # no noise, also in training mode
    xd, yd = x.double(), y.double()

    hidden = {}
    hooks = []
    if not isinstance(model, LN):
        shapes = {4: model.shape1, 10: model.shape2}
        for idx, key in ((4, "conv1"), (10, "conv2")):
            def hook(mod, inp, outp, key=key, idx=idx):
                hidden[key] = outp.detach().reshape(outp.shape[0], *shapes[idx]).numpy()
            hooks.append(md.sequential[idx].register_forward_hook(hook))
    md.eval()
    with torch.no_grad():
        out["eval_rates"] = md(xd).numpy().astype(np.float32)
    for h in hooks:
        h.remove()
    if small:
        for key, v in hidden.items():
            out["eval_" + key] = v.astype(np.float32)

    md.train()
    pred = md(xd)
    loss = poisson_loss(pred, yd)
    loss.backward()
    out["train_rates"] = pred.detach().numpy().astype(np.float32)
    out["train_loss"] = np.array(loss.item(), dtype=np.float32)
    for k, p in md.named_parameters():
        if p.requires_grad:
            out["grad." + k] = p.grad.numpy().astype(np.float32)
    if small:
        for k, v in md.state_dict().items():
            if "running_" in k or "num_batches_tracked" in k:
                a = v.numpy()
                out["after." + k] = a.astype(np.float32) if a.dtype == np.float64 else a.copy()

    path = os.path.join(OUT_DIR, "golden_%s.npz" % name)
    np.savez_compressed(path, **out)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print("%-28s %8d bytes  trainable params %7d  eval_rates[0]=%s" % (
        os.path.basename(path), os.path.getsize(path), n_params, out["eval_rates"][0]))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    small_img = (6, 14, 14)
    ref_img = (40, 50, 50)
    cases = [
        # name, constructor, img shape, batch, n_cells, small
        ("bncnn_small", lambda: BNCNN(3, small_img, [3, 4], [5, 3]), small_img, 4, 3, True),
        ("linearstacked_small", lambda: LinearStackedBNCNN(3, small_img, [3, 4], [7, 3]), small_img, 4, 3, True),
        ("ln_small", lambda: LN(3, small_img), small_img, 4, 3, True),
        ("bncnn_ref", lambda: BNCNN(5, ref_img, [8, 8], [15, 11]), ref_img, 2, 5, False),
        ("linearstacked_ref", lambda: LinearStackedBNCNN(5, ref_img, [8, 8], [15, 11]), ref_img, 2, 5, False),
    ]
    for i, (name, ctor, img, batch, n_cells, small) in enumerate(cases):
        torch.manual_seed(1000 + i)
        make_golden(name, ctor(), img, batch, n_cells, rng, small)


if __name__ == "__main__":
    main()
