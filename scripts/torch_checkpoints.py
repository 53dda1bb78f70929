#!/usr/bin/python3
"""Reference-format PyTorch checkpoints and their eval-mode outputs, for `deepretina import`.

Run with Debian's Python (PyTorch 1.13, CPU):

    /usr/bin/python3 scripts/torch_checkpoints.py

It rebuilds torch-deep-retina's BNCNN and LinearStackedBNCNN in the module order of the
reference's newest code and in an older order, fills them with random weights and non-trivial
batch-norm statistics, and `torch.save`s checkpoints as the reference's training loop does (a
dict with model_type, model_state_dict, optim_state_dict, the hyper-parameters, norm_stats,
scores and epoch), in PyTorch's zip format and in the legacy format
(_use_new_zipfile_serialization=False). Files go to torchio/testdata/torch/:

  <case>.pt           the checkpoint
  golden.npz          per case: <case>.x_int8 (z-scored windows [B, History, H, W] = x_int8/16),
                      <case>.rates (eval-mode output [B, n_units], computed in float64 from the
                      float32 parameters) and <case>.meta ([norm mean, norm std, epoch, val_acc,
                      test_pearson, optimizer lr or 0]); for the CLI case also cli.movie (raw stimulus [T, H, W])
                      and cli.pred ([T-History, n_units], the movie z-scored with the stored
                      norm_stats and cut into windows)
  bad_<what>.pt       malformed checkpoints for the error table (unknown model type, missing keys,
                      per-channel batch norm, batch norm inside a linear stack, wrong shapes)

and torchio/testdata/fuzz/FuzzParseCheckpoint/ gets a seed corpus (the smallest files).

Newest module order (BNCNN; LinearStackedBNCNN alike with stacks and AbsBatchNorm1d):
  0 conv1, 1 flatten, 2 BatchNorm1d(C1*H1*W1), 3 reshape, 4 noise (sigma), 5 ReLU, 6 conv2,
  7 flatten, 8 BatchNorm1d, 9 reshape, 10 noise, 11 ReLU, 12 flatten, 13 dense, 14 BatchNorm1d(n),
  15 softplus (Exponential when softplus=False).
Older order: 0 conv1, 1 flatten, 2 BN, 3 noise, 4 ReLU, 5 reshape, 6 conv2, 7 flatten, 8 BN,
  9 noise, 10 ReLU, 11 dense, 12 BN, 13 softplus; some versions call the noise parameter cuda_param.
Deterministic: fixed seeds (the legacy files name their storages by memory address, so their
bytes differ from run to run; their contents do not).
"""
import copy
import io
import os
import zipfile

import numpy as np
import torch

# The reference's modules, shared with the other golden scripts.
from torchref import GaussianNoiseCudaParam, RetinaCNN, noise_modules, randomize

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT_DIR = os.path.join(ROOT, "torchio", "testdata", "torch")
FUZZ_DIR = os.path.join(ROOT, "torchio", "testdata", "fuzz", "FuzzParseCheckpoint")


def eval_rates(model, x):
    md = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        return md(torch.from_numpy(x).double()).numpy().astype(np.float32)


def optimizer_state(model, rng, img_shape, lr):
    """An Adam state after one step, as the reference saves it (optim_state_dict)."""
    m = copy.deepcopy(model).train()
    for nm in noise_modules(m):
        nm.std = 0
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=lr, weight_decay=1e-3)
    x = torch.tensor(rng.normal(size=(4, *img_shape)), dtype=torch.float32)
    pred = m(x)
    loss = torch.mean(pred - torch.log(pred.abs() + 1e-8))
    loss.backward()
    opt.step()
    return opt.state_dict()


def save(obj, name, legacy):
    path = os.path.join(OUT_DIR, name + ".pt")
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def make_case(name, rng, golden, model_type, img_shape, chans, ksizes, n_units, legacy, batch=3,
              hyps_key="hyps", norm_kind="numpy", extra_hyps=None, optim=True, **model_kw):
    model = RetinaCNN(n_units, img_shape, chans, ksizes, stacked=(model_type == "LinearStackedBNCNN"), **model_kw)
    x_calib = rng.normal(size=(max(batch, 4), *img_shape)).astype(np.float32)
    randomize(model, rng, torch.from_numpy(x_calib), bias_noise=True)
    # Inputs on a 1/16 grid, exact in float32 and stored as int8 (keeps the golden file small).
    x_int8 = np.clip(np.round(rng.normal(size=(batch, *img_shape)) * 16), -127, 127).astype(np.int8)
    x = x_int8.astype(np.float32) / 16
    golden[name + ".x_int8"] = x_int8
    golden[name + ".rates"] = eval_rates(model, x)

    mean, std = 0.37 + rng.uniform(), 0.5 + rng.uniform()
    if norm_kind == "numpy":  # stored as float32 values
        mean, std = float(np.float32(mean)), float(np.float32(std))
    elif norm_kind == "tensor":  # mean a float64 tensor, std a float32 one
        std = float(np.float32(std))
    hyps = {
        "exp_name": "import_" + name, "model_type": model_type, "dataset": "15-10-07", "cells": "all",
        "stim_type": "naturalscene", "n_repeats": 1, "shuffle": True, "starting_exp_num": None,
        "lossfxn": "PoissonNLLLoss", "log_poisson": not model_kw.get("softplus", True),
        "softplus": model_kw.get("softplus", True), "batch_size": 512, "n_epochs": 40, "lr": 0.001,
        "l1": 1e-4, "l2": 0.01, "noise": model_kw.get("noise", 0.05), "bias": model_kw.get("bias", True),
        "gc_bias": model_kw.get("linear_bias", False), "bnorm": True, "bnorm_d": 1, "n_layers": 3,
        "drop_p": model_kw.get("drop_p", 0), "bn_moment": model_kw.get("bn_moment", 0.01),
        "chans": list(chans), "ksizes": list(ksizes), "img_shape": list(img_shape),
        "stackconvs": model_type == "LinearStackedBNCNN", "save_every_epoch": False,
        "n_units": n_units, "seed": 0, "save_folder": "import_" + name + "/import_" + name + "_0",
    }
    hyps.update(extra_hyps or {})
    if norm_kind == "numpy":
        norm_stats = {"mean": np.float32(mean), "std": np.float32(std)}
    elif norm_kind == "list":
        norm_stats = [float(mean), float(std)]
    else:
        norm_stats = {"mean": torch.tensor(mean, dtype=torch.float64), "std": torch.tensor([std])}
    ckpt = {
        "model_type": model_type,
        "model_state_dict": model.state_dict(),
        "loss": float(rng.uniform(0.5, 1.0)),
        "epoch": 6,
        "val_loss": float(rng.uniform(0.5, 1.0)),
        "val_acc": np.float64(rng.uniform(0.3, 0.7)),
        "exp_val_acc": None,
        "test_pearson": float(rng.uniform(0.3, 0.7)),
        "norm_stats": norm_stats,
        "y_stats": {"mean": 0, "std": 1},
    }
    if hyps_key is not None:  # else the hyper-parameters are only at the top level
        ckpt[hyps_key] = hyps
    if optim:
        ckpt["optim_state_dict"] = optimizer_state(model, rng, img_shape, hyps["lr"])
    for k, v in hyps.items():  # the reference also copies every hyper-parameter to the top level
        ckpt.setdefault(k, v)
    val_acc = float(ckpt["val_acc"])
    golden[name + ".meta"] = np.array([mean, std, ckpt["epoch"], val_acc, ckpt["test_pearson"],
                                       hyps["lr"] if optim else 0.0])
    path = save(ckpt, name, legacy)
    print("%-34s %8d bytes  %s  rates[0]=%s" % (os.path.basename(path), os.path.getsize(path),
                                                 "legacy" if legacy else "zip", golden[name + ".rates"][0]))
    return model, mean, std


def fuzz_seed(name, data):
    os.makedirs(FUZZ_DIR, exist_ok=True)
    lit = "".join("\\x%02x" % b for b in data)
    with open(os.path.join(FUZZ_DIR, name), "w") as f:
        f.write('go test fuzz v1\n[]byte("%s")\n' % lit)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    golden = {}
    rng = np.random.default_rng(20261126)
    small, stacked_small = (10, 20, 20), (10, 20, 20)
    cases = [
        # name, model_type, img, chans, ksizes, n_units, legacy, kwargs
        ("bncnn_newest_zip", "BNCNN", small, [4, 4], [9, 7], 8, False, {}),
        ("bncnn_newest_legacy", "BNCNN", small, [3, 4], [7, 5], 5, True, {"hyps_key": "model_hyps", "norm_kind": "list"}),
        ("bncnn_older_zip_cudaparam", "BNCNN", small, [3, 4], [9, 7], 5, False,
         {"order": "older", "noise_cls": GaussianNoiseCudaParam, "norm_kind": "tensor"}),
        ("bncnn_older_legacy", "BNCNN", small, [4, 3], [7, 7], 4, True, {"order": "older", "optim": False, "hyps_key": None}),
        ("bncnn_older_legacy_cudaparam", "BNCNN", small, [2, 3], [5, 5], 3, True,
         {"order": "older", "noise_cls": GaussianNoiseCudaParam}),
        ("bncnn_gcbias_exp_nobias_zip", "BNCNN", small, [3, 3], [9, 7], 4, False,
         {"linear_bias": True, "softplus": False, "bias": False}),
        ("linearstacked_newest_zip", "LinearStackedBNCNN", stacked_small, [3, 4], [7, 5], 5, False, {}),
        ("linearstacked_older_legacy", "LinearStackedBNCNN", stacked_small, [3, 3], [5, 7], 4, True, {"order": "older", "optim": False}),
        ("linearstacked_dropout_legacy", "LinearStackedBNCNN", stacked_small, [3, 4], [7, 5], 5, True, {"drop_p": 0.1}),
        ("linearstacked_gcbias_zip", "LinearStackedBNCNN", stacked_small, [2, 3], [5, 5], 3, False,
         {"linear_bias": True, "order": "older", "noise_cls": GaussianNoiseCudaParam, "optim": False}),
        ("bncnn_ref_zip", "BNCNN", (40, 50, 50), [8, 8], [15, 11], 5, False, {"batch": 2, "optim": False}),
    ]
    for i, (name, mt, img, chans, ks, n, legacy, kw) in enumerate(cases):
        torch.manual_seed(100 + i)
        model, mean, std = make_case(name, rng, golden, mt, img, chans, ks, n, legacy, **kw)
        if name == "bncnn_newest_zip":  # the CLI case: a raw movie and its predictions
            T = 30
            z = rng.normal(size=(T, *img[1:])).astype(np.float32)
            movie = (z * np.float32(std) + np.float32(mean)).astype(np.float32)
            zz = (movie.astype(np.float64) - mean) / std
            windows = np.stack([zz[t:t + img[0]] for t in range(T - img[0])]).astype(np.float32)
            golden["cli.movie"] = movie
            golden["cli.pred"] = eval_rates(model, windows)
    np.savez_compressed(os.path.join(OUT_DIR, "golden.npz"), **golden)

    # Malformed checkpoints for the error table: tiny shapes.
    tiny = dict(n_units=2, img_shape=(2, 6, 6), chans=[2, 2], ksizes=[3, 3])

    def tiny_ckpt(model_type="BNCNN", **kw):
        torch.manual_seed(7)
        m = RetinaCNN(tiny["n_units"], tiny["img_shape"], tiny["chans"], tiny["ksizes"],
                      stacked=(model_type == "LinearStackedBNCNN"), **kw)
        return {"model_type": model_type, "model_state_dict": m.state_dict(),
                "hyps": {"img_shape": list(tiny["img_shape"]), "chans": tiny["chans"],
                         "ksizes": tiny["ksizes"], "n_units": 2},
                "norm_stats": {"mean": 0.5, "std": 2.0}, "epoch": 0}

    bad = {}
    bad["unknown_model_type"] = dict(tiny_ckpt(), model_type="RetinotopicModel")
    c = tiny_ckpt()
    del c["model_state_dict"]
    bad["missing_state_dict"] = c
    c = tiny_ckpt()
    del c["norm_stats"]
    bad["missing_norm_stats"] = c
    c = tiny_ckpt()
    del c["model_type"]
    bad["missing_model_type"] = c
    bad["batchnorm2d"] = tiny_ckpt(bnorm_d=2)
    bad["stack_with_bnorm"] = dict(tiny_ckpt("LinearStackedBNCNN", abs_bnorm=True), hyps={
        "img_shape": [2, 9, 9], "chans": [2, 2], "ksizes": [5, 3]})
    m = RetinaCNN(2, (2, 9, 9), [2, 2], [5, 3], stacked=True, abs_bnorm=True)
    bad["stack_with_bnorm"]["model_state_dict"] = m.state_dict()
    c = tiny_ckpt()
    c["model_state_dict"]["sequential.2.running_mean"] = torch.zeros(5)  # BN of the wrong size
    bad["wrong_bn_shape"] = c
    c = tiny_ckpt()
    c["model_state_dict"]["sequential.0.weight"] = torch.zeros(2, 2, 3)  # conv weight not 4-D
    bad["conv_weight_3d"] = c
    c = tiny_ckpt()
    c["hyps"]["img_shape"] = [2, 7, 7]  # disagrees with the batch-norm sizes
    bad["img_shape_mismatch"] = c
    bad["not_a_dict"] = [1, 2, 3]
    bad["state_dict_not_a_dict"] = dict(tiny_ckpt(), model_state_dict=[1, 2])
    bad["bncnn_as_linearstacked"] = dict(tiny_ckpt(), model_type="LinearStackedBNCNN")
    c = tiny_ckpt()
    c["model_state_dict"]["sequential.16.weight"] = torch.zeros(2, 2)  # an unknown extra module
    bad["extra_module"] = c
    for name, obj in bad.items():
        save(obj, "bad_" + name, legacy=(name == "missing_norm_stats"))

    # Fuzz seeds: a tiny valid checkpoint in both formats, and a plain pickle.
    good = tiny_ckpt()
    for legacy in (False, True):
        buf = io.BytesIO()
        torch.save(good, buf, _use_new_zipfile_serialization=not legacy)
        fuzz_seed("tiny_" + ("legacy" if legacy else "zip"), buf.getvalue())
    import pickle
    fuzz_seed("plain_pickle", pickle.dumps({"model_type": "BNCNN", "epoch": 3, "norm_stats": [0.5, 2.0]}, protocol=2))
    print("golden.npz", os.path.getsize(os.path.join(OUT_DIR, "golden.npz")), "bytes")


if __name__ == "__main__":
    main()
