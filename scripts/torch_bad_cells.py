"""Checkpoints that import must refuse (issue 24), derived from bncnn_newest_zip.pt (8 outputs).

  bad_cells_numpy.pt     hyps["cells"] is a numpy array: no list import can read
  bad_cells_string.pt    hyps["cells"] is a string other than "all"
  bad_cells_negative.pt  hyps["cells"] holds −1
  bad_nan_weight.pt      one first-layer weight is NaN
  bad_inf_weight.pt      one batch-norm running variance is +Inf

Run from the repository root: /usr/bin/python3 scripts/torch_bad_cells.py
"""
import os

import numpy as np
import torch

DIR = os.path.join("retina", "testdata", "torch")


def main():
    src = torch.load(os.path.join(DIR, "bncnn_newest_zip.pt"))
    def cells(v):  # the reference saves its hyper-parameters both in "hyps" and at the top level
        def change(c):
            c["hyps"]["cells"] = v
            c["cells"] = v
        return change

    cases = {
        "cells_numpy": cells(np.arange(2, 10)),
        "cells_string": cells("first eight"),
        "cells_negative": cells([-1, 0, 1, 2, 3, 4, 5, 6]),
        "nan_weight": lambda c: c["model_state_dict"]["sequential.0.weight"].view(-1).__setitem__(5, float("nan")),
        "inf_weight": lambda c: c["model_state_dict"]["sequential.2.running_var"].__setitem__(1, float("inf")),
    }
    for name, change in cases.items():
        c = torch.load(os.path.join(DIR, "bncnn_newest_zip.pt"))
        c.pop("optim_state_dict", None)  # not needed: keeps the files small
        change(c)
        path = os.path.join(DIR, "bad_" + name + ".pt")
        torch.save(c, path)
        print(path, os.path.getsize(path), "bytes")
    assert src["hyps"]["cells"] == "all"


if __name__ == "__main__":
    main()
