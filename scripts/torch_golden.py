#!/usr/bin/python3
"""Golden PyTorch outputs for the Go package retina (model parity tests).

Run with Debian's Python (PyTorch 1.13, CPU):

    /usr/bin/python3 scripts/torch_golden.py

It rebuilds the reference torch-deep-retina models (BNCNN, LinearStackedBNCNN, and an LN
baseline) with the reference's module layout, so the state-dict names are the reference's, sets
random weights and random non-trivial batch-norm running statistics, and writes, per model and
shape, retina/testdata/golden_<model>_<size>.npz holding:

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
import torch.nn as nn
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "retina", "testdata")


# ---------------------------------------------------------------------------------------------
# Modules mirroring torchdeepretina.torch_utils (only what the models use).

class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.shape[0], -1)


class Reshape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(self.shape)


class GaussianNoise(nn.Module):
    """As the reference: a non-trainable `sigma` parameter; no noise in eval mode or when std == 0."""

    def __init__(self, std=0.1):
        super().__init__()
        self.std = std
        self.sigma = nn.Parameter(torch.ones(1) * std, requires_grad=False)

    def forward(self, x):
        if not self.training or self.std == 0:
            return x
        return x + self.sigma * torch.randn(x.size(), dtype=x.dtype)


class AbsBatchNorm1d(nn.Module):
    """The reference's AbsBatchNorm1d (scale = |scale|), with the running statistics as buffers."""

    def __init__(self, n_units, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(n_units))
        self.shift = nn.Parameter(torch.zeros(n_units))
        self.register_buffer("running_mean", torch.zeros(n_units))
        self.register_buffer("running_var", torch.ones(n_units))

    def forward(self, x):
        assert len(x.shape) == 2
        return F.batch_norm(x, self.running_mean, self.running_var, weight=self.scale.abs(),
                            bias=self.shift, eps=self.eps, momentum=self.momentum,
                            training=self.training)


class LinearStackedConv2d(nn.Module):
    """The reference's LinearStackedConv2d with abs_bnorm=False, conv_bias=False, bias=True:
    (k-1)/2 3x3 convolutions without nonlinearity; only the last has a bias."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        assert kernel_size % 2 == 1
        n_filters = (kernel_size - 1) // 2
        if n_filters > 1:
            convs = [nn.Conv2d(in_channels, out_channels, 3, bias=False)]
            for i in range(n_filters - 1):
                convs.append(nn.Conv2d(out_channels, out_channels, 3, bias=(i == n_filters - 2)))
        else:
            convs = [nn.Conv2d(in_channels, out_channels, 3, bias=True)]
        self.convs = nn.Sequential(*convs)

    def forward(self, x):
        return self.convs(x)


def conv_out(shape, k):
    return [s - k + 1 for s in shape]


class BNCNN(nn.Module):
    def __init__(self, n_units, img_shape, chans, ksizes, noise=0.05, bn_moment=0.01):
        super().__init__()
        shape = list(img_shape[1:])
        m = []
        m.append(nn.Conv2d(img_shape[0], chans[0], kernel_size=ksizes[0], bias=True))  # 0
        shape = conv_out(shape, ksizes[0])
        self.shape1 = (chans[0], *shape)
        m.append(Flatten())  # 1
        m.append(nn.BatchNorm1d(chans[0] * shape[0] * shape[1], eps=1e-3, momentum=bn_moment))  # 2
        m.append(GaussianNoise(std=noise))  # 3
        m.append(nn.ReLU())  # 4
        m.append(Reshape((-1, chans[0], *shape)))  # 5
        m.append(nn.Conv2d(chans[0], chans[1], kernel_size=ksizes[1], bias=True))  # 6
        shape = conv_out(shape, ksizes[1])
        self.shape2 = (chans[1], *shape)
        m.append(Flatten())  # 7
        m.append(nn.BatchNorm1d(chans[1] * shape[0] * shape[1], eps=1e-3, momentum=bn_moment))  # 8
        m.append(GaussianNoise(std=noise))  # 9
        m.append(nn.ReLU())  # 10
        m.append(nn.Linear(chans[1] * shape[0] * shape[1], n_units, bias=False))  # 11
        m.append(nn.BatchNorm1d(n_units, eps=1e-3, momentum=bn_moment))  # 12
        m.append(nn.Softplus())  # 13
        self.sequential = nn.Sequential(*m)

    def forward(self, x):
        return self.sequential(x)


class LinearStackedBNCNN(nn.Module):
    def __init__(self, n_units, img_shape, chans, ksizes, noise=0.05, bn_moment=0.01):
        super().__init__()
        shape = list(img_shape[1:])
        m = []
        m.append(LinearStackedConv2d(img_shape[0], chans[0], ksizes[0]))  # 0
        shape = conv_out(shape, ksizes[0])
        self.shape1 = (chans[0], *shape)
        m.append(Flatten())  # 1
        m.append(AbsBatchNorm1d(chans[0] * shape[0] * shape[1], eps=1e-3, momentum=bn_moment))  # 2
        m.append(GaussianNoise(std=noise))  # 3
        m.append(nn.ReLU())  # 4
        m.append(Reshape((-1, chans[0], shape[0], shape[1])))  # 5
        m.append(LinearStackedConv2d(chans[0], chans[1], ksizes[1]))  # 6
        shape = conv_out(shape, ksizes[1])
        self.shape2 = (chans[1], *shape)
        m.append(Flatten())  # 7
        m.append(AbsBatchNorm1d(chans[1] * shape[0] * shape[1], eps=1e-3, momentum=bn_moment))  # 8
        m.append(GaussianNoise(std=noise))  # 9
        m.append(nn.ReLU())  # 10
        m.append(nn.Linear(chans[1] * shape[0] * shape[1], n_units, bias=False))  # 11
        m.append(AbsBatchNorm1d(n_units, eps=1e-3, momentum=bn_moment))  # 12
        m.append(nn.Softplus())  # 13
        self.sequential = nn.Sequential(*m)

    def forward(self, x):
        return self.sequential(x)


class LN(nn.Module):
    def __init__(self, n_units, img_shape):
        super().__init__()
        n_in = int(np.prod(img_shape))
        self.sequential = nn.Sequential(Flatten(), nn.Linear(n_in, n_units, bias=True), nn.Softplus())

    def forward(self, x):
        return self.sequential(x)


# ---------------------------------------------------------------------------------------------

def bn_modules(model):
    return [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, AbsBatchNorm1d))]


def noise_modules(model):
    return [m for m in model.modules() if isinstance(m, GaussianNoise)]


def randomize(model, rng, x_calib):
    """Random affine batch-norm parameters (with random signs, to exercise |scale|) and random
    non-trivial running statistics near the activations' real statistics."""
    with torch.no_grad():
        for bn in bn_modules(model):
            n = bn.running_mean.numel()
            w = rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
            b = rng.normal(0.0, 0.3, n)
            if isinstance(bn, AbsBatchNorm1d):
                bn.scale.copy_(torch.tensor(w, dtype=torch.float32))
                bn.shift.copy_(torch.tensor(b, dtype=torch.float32))
            else:
                bn.weight.copy_(torch.tensor(w, dtype=torch.float32))
                bn.bias.copy_(torch.tensor(b, dtype=torch.float32))
        # Calibrate running stats on a separate batch (momentum 1: running = batch stats), then
        # perturb them so that eval mode differs clearly from the batch statistics.
        saved = [bn.momentum for bn in bn_modules(model)]
        for bn in bn_modules(model):
            bn.momentum = 1.0
        noise_std = [nm.std for nm in noise_modules(model)]
        for nm in noise_modules(model):
            nm.std = 0
        model.train()
        model(x_calib)
        for bn, mom in zip(bn_modules(model), saved):
            bn.momentum = mom
            n = bn.running_mean.numel()
            std = bn.running_var.clamp(min=1e-2).sqrt()
            bn.running_mean.add_(torch.tensor(rng.normal(0, 0.2, n), dtype=torch.float32) * std)
            bn.running_var.mul_(torch.tensor(rng.uniform(0.7, 1.4, n), dtype=torch.float32))
            if isinstance(bn, nn.BatchNorm1d):
                bn.num_batches_tracked.fill_(int(rng.integers(5, 500)))
        for nm, s in zip(noise_modules(model), noise_std):
            nm.std = s
    model.eval()


def poisson_loss(pred, y):
    return torch.mean(pred - y * torch.log(pred + 1e-8))


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
