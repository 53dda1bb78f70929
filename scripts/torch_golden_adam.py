#!/usr/bin/python3
"""Golden PyTorch values for the training objective and optimiser of the Go package retina.

Run with Debian's Python (PyTorch 1.13, CPU):

    /usr/bin/python3 scripts/torch_golden_adam.py

The reference trains with Adam(lr, weight_decay=l2) (PyTorch's defaults: betas (0.9, 0.999),
eps 1e-8) on the Poisson loss plus the activity penalty l1·Σ|pred|. This script builds the
small BNCNN of torch_golden.py (the same random weights and batch-norm statistics), turns its
noise off, and takes three such training steps on one batch, writing
retina/testdata/golden_adam_bncnn_small.npz with:

  sd.<key>          the initial state dict (float32)
  x_int8, x_scale   the input batch, x = x_int8 * x_scale [B, History, H, W]
  y                 the target [B, n_cells]
  lr, l1, l2        the hyper-parameters
  loss              the objective PyTorch minimises at each step: mean(pred − y·log(pred+1e-8))
                    + l1·Σ|pred| (weight decay is not part of it in PyTorch: Adam adds l2·w to
                    the gradient) [3]
  half_l2_sum_w2    ½·l2·Σw² over the trainable parameters before each step [3] — the term whose
                    gradient is that weight decay
  after.<key>       every parameter and running statistic after the three steps

Everything is computed in float64 from the float32 initial values.
"""
import copy
import os

import numpy as np
import torch

import torchref as ref  # the reference's modules, shared with the other golden scripts

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "retina", "testdata", "golden_adam_bncnn_small.npz")


def main():
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    img = (6, 14, 14)
    batch, n_cells = 6, 3
    torch.manual_seed(1000)
    model = ref.BNCNN(n_cells, img, [3, 4], [5, 3])
    x_int8 = rng.integers(-48, 49, size=(batch, *img)).astype(np.int8)
    x_scale = np.float32(1.0 / 16.0)
    x = torch.tensor(x_int8.astype(np.float32) * x_scale)
    x_calib = torch.tensor(rng.integers(-48, 49, size=(batch, *img)).astype(np.float32) / 16.0)
    ref.randomize(model, rng, x_calib)
    y = torch.tensor(rng.poisson(2.0, size=(batch, n_cells)).astype(np.float32))
    lr, l1, l2 = 0.01, 0.02, 0.05

    out = {"x_int8": x_int8, "x_scale": np.array(x_scale, dtype=np.float32), "y": y.numpy(),
           "lr": np.array(lr), "l1": np.array(l1), "l2": np.array(l2)}
    for k, v in model.state_dict().items():
        out["sd." + k] = v.detach().cpu().numpy().copy()

    md = copy.deepcopy(model).double()
    for nm in ref.noise_modules(md):
        nm.std = 0
    md.train()
    params = [p for p in md.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=l2)
    xd, yd = x.double(), y.double()
    losses, decays = [], []
    for _ in range(3):
        opt.zero_grad()
        pred = md(xd)
        loss = ref.poisson_loss(pred, yd) + l1 * pred.abs().sum()
        losses.append(loss.item())
        decays.append(0.5 * l2 * sum(float((p.detach() ** 2).sum()) for p in params))
        loss.backward()
        opt.step()
    out["loss"] = np.array(losses)
    out["half_l2_sum_w2"] = np.array(decays)
    for k, v in md.state_dict().items():
        out["after." + k] = v.detach().numpy().copy()
    np.savez_compressed(OUT, **out)
    print("%s: losses %s" % (os.path.basename(OUT), losses))


if __name__ == "__main__":
    main()
