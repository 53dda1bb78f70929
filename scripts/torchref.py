"""The reference's PyTorch modules, shared by the scripts that write golden files.

torch-deep-retina's models (McIntosh et al. 2016; Maheswaranathan et al. 2023) rebuilt with the
reference's module layout, so that their state-dict names are the reference's, plus the helpers
that give them random, non-trivial parameters. Imported by torch_golden.py,
torch_golden_adam.py, torch_checkpoints.py and check_export.py (all in scripts/); it writes
nothing itself. Runs on Debian's Python (PyTorch 1.13, CPU).
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Modules of torchdeepretina.torch_utils (what the models use).

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
    """The reference's noise layer: its std is a non-trainable parameter `sigma` [1]; no noise in
    eval mode or when std == 0."""

    def __init__(self, std=0.1):
        super().__init__()
        self.std = std
        self.sigma = nn.Parameter(torch.ones(1) * std, requires_grad=False)

    def forward(self, x):
        if not self.training or self.std == 0:
            return x
        return x + self.sigma * torch.randn(x.size(), dtype=x.dtype)


class GaussianNoiseCudaParam(nn.Module):
    """An older version of the noise layer, whose parameter is called `cuda_param`."""

    def __init__(self, std=0.1):
        super().__init__()
        self.std = std
        self.cuda_param = nn.Parameter(torch.ones(1) * std, requires_grad=False)

    def forward(self, x):
        if not self.training or self.std == 0:
            return x
        return x + self.cuda_param * torch.randn(x.size(), dtype=x.dtype)


class Exponential(nn.Module):
    """The reference's output when softplus=False: exp in eval mode, identity in training."""

    def __init__(self, train_off=True):
        super().__init__()
        self.train_off = train_off

    def forward(self, x):
        if self.training and self.train_off:
            return x
        return torch.exp(x)


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
        return F.batch_norm(x, self.running_mean, self.running_var, weight=self.scale.abs(),
                            bias=self.shift, eps=self.eps, momentum=self.momentum,
                            training=self.training)


class AbsBatchNorm2d(AbsBatchNorm1d):
    """Per-channel AbsBatchNorm (inside a linear stack with abs_bnorm; deepretina rejects it)."""


class LinearStackedConv2d(nn.Module):
    """(k-1)/2 3x3 convolutions without nonlinearity; only the last has a bias. With drop_p > 0
    the reference puts a Dropout after every convolution but the last (shifting the state-dict
    indices inside `convs`); with abs_bnorm an AbsBatchNorm2d (not supported by deepretina)."""

    def __init__(self, cin, cout, k, bias=True, drop_p=0, abs_bnorm=False):
        super().__init__()
        assert k % 2 == 1
        n = (k - 1) // 2
        if n > 1:
            convs = [nn.Conv2d(cin, cout, 3, bias=False)]
            if abs_bnorm:
                convs.append(AbsBatchNorm2d(cout))
            if drop_p > 0:
                convs.append(nn.Dropout(drop_p))
            for i in range(n - 1):
                if i == n - 2:
                    convs.append(nn.Conv2d(cout, cout, 3, bias=bias))
                else:
                    convs.append(nn.Conv2d(cout, cout, 3, bias=False))
                    if abs_bnorm:
                        convs.append(AbsBatchNorm2d(cout))
                    if drop_p > 0:
                        convs.append(nn.Dropout(drop_p))
        else:
            convs = [nn.Conv2d(cin, cout, 3, bias=bias)]
        self.convs = nn.Sequential(*convs)

    def forward(self, x):
        return self.convs(x)


def conv_out(shape, k):
    return [s - k + 1 for s in shape]


# ---------------------------------------------------------------------------------------------
# The models.

class RetinaCNN(nn.Module):
    """BNCNN (stacked=False) or LinearStackedBNCNN (stacked=True), in the reference's newest
    module order or an older one, everything in `self.sequential`. shape1 and shape2 are the
    [C, H, W] shapes of the two hidden layers.

    Newest order (BNCNN; LinearStackedBNCNN alike with stacks and AbsBatchNorm1d):
      0 conv1, 1 flatten, 2 BatchNorm1d(C1*H1*W1), 3 reshape, 4 noise, 5 ReLU, 6 conv2,
      7 flatten, 8 BatchNorm1d, 9 reshape, 10 noise, 11 ReLU, 12 flatten, 13 dense,
      14 BatchNorm1d(n), 15 softplus (Exponential when softplus=False).
    Older order:
      0 conv1, 1 flatten, 2 BatchNorm1d, 3 noise, 4 ReLU, 5 reshape, 6 conv2, 7 flatten,
      8 BatchNorm1d, 9 noise, 10 ReLU, 11 dense, 12 BatchNorm1d(n), 13 softplus.
    """

    def __init__(self, n_units, img_shape, chans, ksizes, stacked=False, order="newest",
                 noise=0.05, bn_moment=0.01, bias=True, linear_bias=False, softplus=True,
                 drop_p=0, noise_cls=GaussianNoise, abs_bnorm=False, bnorm_d=1):
        super().__init__()
        shape = list(img_shape[1:])
        BN = AbsBatchNorm1d if stacked else nn.BatchNorm1d
        m = []
        cin = img_shape[0]
        hidden = []
        for i in range(2):
            if stacked:
                m.append(LinearStackedConv2d(cin, chans[i], ksizes[i], bias=bias, drop_p=drop_p,
                                             abs_bnorm=abs_bnorm))
            else:
                m.append(nn.Conv2d(cin, chans[i], ksizes[i], bias=bias))
            shape = conv_out(shape, ksizes[i])
            hidden.append((chans[i], *shape))
            size = chans[i] * shape[0] * shape[1]
            if bnorm_d == 2:  # per-channel batch norm (not supported by deepretina)
                m.append(nn.BatchNorm2d(chans[i], eps=1e-3, momentum=bn_moment))
                m.append(noise_cls(std=noise))
                m.append(nn.ReLU())
            elif order == "newest":
                m += [Flatten(), BN(size, eps=1e-3, momentum=bn_moment),
                      Reshape((-1, chans[i], *shape)), noise_cls(std=noise), nn.ReLU()]
            else:
                m += [Flatten(), BN(size, eps=1e-3, momentum=bn_moment), noise_cls(std=noise),
                      nn.ReLU()]
                if i == 0:
                    m.append(Reshape((-1, chans[i], *shape)))
            cin = chans[i]
        self.shape1, self.shape2 = hidden
        if order == "newest" or bnorm_d == 2:
            m.append(Flatten())
        m.append(nn.Linear(chans[1] * shape[0] * shape[1], n_units, bias=linear_bias))
        m.append(BN(n_units, eps=1e-3, momentum=bn_moment))
        m.append(nn.Softplus() if softplus else Exponential(train_off=True))
        self.sequential = nn.Sequential(*m)

    def forward(self, x):
        return self.sequential(x)


def BNCNN(n_units, img_shape, chans, ksizes, noise=0.05, bn_moment=0.01):
    """The reference's BNCNN in the older module order (hidden activations after the ReLUs at
    sequential indices 4 and 10)."""
    return RetinaCNN(n_units, img_shape, chans, ksizes, stacked=False, order="older",
                     noise=noise, bn_moment=bn_moment)


def LinearStackedBNCNN(n_units, img_shape, chans, ksizes, noise=0.05, bn_moment=0.01):
    """The reference's LinearStackedBNCNN in the older module order."""
    return RetinaCNN(n_units, img_shape, chans, ksizes, stacked=True, order="older",
                     noise=noise, bn_moment=bn_moment)


class LN(nn.Module):
    """A linear-nonlinear baseline: flatten, dense with bias, softplus."""

    def __init__(self, n_units, img_shape):
        super().__init__()
        n_in = int(np.prod(img_shape))
        self.sequential = nn.Sequential(Flatten(), nn.Linear(n_in, n_units, bias=True), nn.Softplus())

    def forward(self, x):
        return self.sequential(x)


# ---------------------------------------------------------------------------------------------
# Random, non-trivial parameters.

def bn_modules(model):
    return [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, AbsBatchNorm1d))]


def noise_modules(model):
    return [m for m in model.modules() if isinstance(m, (GaussianNoise, GaussianNoiseCudaParam))]


def randomize(model, rng, x_calib, bias_noise=False):
    """Random affine batch-norm parameters (signs included, to exercise |scale|), then running
    statistics calibrated on a batch and perturbed so that eval mode clearly differs from it;
    with bias_noise, small random offsets on the convolution and dense biases too. Draws from
    the numpy Generator rng in a fixed order, so the same seed gives the same model."""
    with torch.no_grad():
        for bn in bn_modules(model):
            n = bn.running_mean.numel()
            w = torch.tensor(rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n), dtype=torch.float32)
            b = torch.tensor(rng.normal(0.0, 0.3, n), dtype=torch.float32)
            if isinstance(bn, AbsBatchNorm1d):
                bn.scale.copy_(w)
                bn.shift.copy_(b)
            else:
                bn.weight.copy_(w)
                bn.bias.copy_(b)
        # Calibrate the running statistics on a separate batch (momentum 1: running = batch
        # statistics), then perturb them.
        saved = [bn.momentum for bn in bn_modules(model)]
        for bn in bn_modules(model):
            bn.momentum = 1.0
        stds = [nm.std for nm in noise_modules(model)]
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
            if hasattr(bn, "num_batches_tracked"):
                bn.num_batches_tracked.fill_(int(rng.integers(5, 500)))
        for nm, s in zip(noise_modules(model), stds):
            nm.std = s
        if bias_noise:
            for mod in model.modules():
                if isinstance(mod, (nn.Conv2d, nn.Linear)) and mod.bias is not None:
                    mod.bias.add_(torch.tensor(rng.normal(0, 0.1, mod.bias.numel()), dtype=torch.float32))
    model.eval()


def poisson_loss(pred, y):
    """The reference's Poisson loss: mean(pred - y*log(pred+1e-8))."""
    return torch.mean(pred - y * torch.log(pred + 1e-8))
