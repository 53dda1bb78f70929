#!/usr/bin/python3
"""Write the small HDF5 fixtures that datasets/hdf5_test.go and datasets/interneurons_test.go load.

Run from the repository root with Debian's Python (it has h5py and numpy):

    /usr/bin/python3 scripts/make_h5_fixture.py

It writes, deterministically (fixed seed):

  datasets/testdata/fixture_expt/whitenoise.h5    a recording in the lab's layout, as h5py writes it
  datasets/testdata/fixture_expt/expected.json    shapes, sums and a few exact entries to check
  datasets/testdata/interneurons_fixture.h5       an interneuron file in the lab's layout
  datasets/testdata/interneurons_expected.json    its expected values

The recording file mimics a lab file: groups `train` and `test`, each with `time` (T,) float64,
`stimulus` (T, H, W) float32 (the training stimulus gzip-compressed and chunked, the test stimulus
contiguous), `response/firing_rate_10ms` (n_cells, T) float64 and `response/binned` (n_cells, T)
(float64 in train, int64 in test, to exercise both conversions), and `test/repeats/cellNN`
(n_repeats, T) float64 for cell01 … cellNN. Like the lab's files it has NO root attributes: the
frame rate must come from the `time` spacing (10 ms -> 100 Hz).

The interneuron file has one group per stimulus (`boxes`, `flashes`), each with `stimuli`
(T, H, W) and `detrended_membrane_potential` (n_cells, T), and a root attribute `cell_type`
(an h5py str attribute, i.e. a variable-length string).

Sums in the JSON are float64 sums of the values after conversion to float32 (what the Go loader
returns); entries are float32 values written as exact float64 numbers.
"""
import json
import os

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets", "testdata")
SEED = 20240601

T_TRAIN, T_TEST, H, W, N_CELLS, N_REPEATS = 120, 60, 8, 8, 4, 3


def f32(a):
    return np.asarray(a).astype(np.float32)


def f32sum(a):
    return float(f32(a).astype(np.float64).sum())


def entry(a, idx):
    return [int(i) for i in idx] + [float(f32(a[idx]))]


def make_split(rng, t, t0):
    time = t0 + np.arange(t, dtype=np.float64) * 0.01
    stimulus = rng.standard_normal((t, H, W)).astype(np.float32)
    rates = rng.gamma(2.0, 5.0, size=(N_CELLS, t))  # float64, Hz
    binned = rng.poisson(rates * 0.01).astype(np.float64)
    return time, stimulus, rates, binned


def recording(rng):
    out_dir = os.path.join(ROOT, "fixture_expt")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "whitenoise.h5")
    tr_time, tr_stim, tr_rates, tr_binned = make_split(rng, T_TRAIN, 0.0)
    te_time, te_stim, te_rates, te_binned = make_split(rng, T_TEST, 100.0)
    te_binned = te_binned.astype(np.int64)
    repeats = [rng.gamma(2.0, 5.0, size=(N_REPEATS, T_TEST)) for _ in range(N_CELLS)]

    with h5py.File(path, "w") as f:
        g = f.create_group("train")
        g.create_dataset("time", data=tr_time)
        g.create_dataset("stimulus", data=tr_stim, chunks=(10, H, W), compression="gzip")
        g.create_dataset("response/firing_rate_10ms", data=tr_rates)
        g.create_dataset("response/binned", data=tr_binned)
        g = f.create_group("test")
        g.create_dataset("time", data=te_time)
        g.create_dataset("stimulus", data=te_stim)
        g.create_dataset("response/firing_rate_10ms", data=te_rates)
        g.create_dataset("response/binned", data=te_binned)
        for c, rep in enumerate(repeats):
            g.create_dataset("repeats/cell%02d" % (c + 1), data=rep)

    def split_expect(time, stim, rates, binned, reps):
        t = stim.shape[0]
        e = {
            "T": t, "H": H, "W": W,
            "time_first": float(time[0]), "time_last": float(time[-1]),
            "stimulus_sum": f32sum(stim),
            "stimulus_abs_sum": f32sum(np.abs(stim)),
            "stimulus_entries": [entry(stim, (0, 0, 0)), entry(stim, (t - 1, H - 1, W - 1)),
                                 entry(stim, (t // 2, 3, 5))],
            "rates_sum_per_cell": [f32sum(rates[c]) for c in range(N_CELLS)],
            # entries as [cell, t, value]
            "rates_entries": [entry(rates, (0, 0)), entry(rates, (N_CELLS - 1, t - 1)),
                              entry(rates, (2, 7))],
            "binned_sum_per_cell": [f32sum(binned[c]) for c in range(N_CELLS)],
            "binned_entries": [entry(binned, (1, 3)), entry(binned, (3, t - 2))],
        }
        if reps is not None:
            e["n_repeats"] = N_REPEATS
            e["repeats_sum_per_cell"] = [f32sum(r) for r in reps]
            # entries as [cell, repeat, t, value]
            e["repeats_entries"] = [[c] + entry(reps[c], (r, tt))
                                    for c, r, tt in [(0, 0, 0), (3, 2, t - 1), (1, 1, 17)]]
        return e

    expected = {
        "file": "fixture_expt/whitenoise.h5",
        "seed": SEED,
        "n_cells_total": N_CELLS,
        "frame_rate_hz": 100.0,
        "train": split_expect(tr_time, tr_stim, tr_rates, tr_binned, None),
        "test": split_expect(te_time, te_stim, te_rates, te_binned, repeats),
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


def interneurons(rng):
    path = os.path.join(ROOT, "interneurons_fixture.h5")
    groups = {
        # boxes: binary stimulus mapped to 2s-1, stored float32; 3 cells
        "boxes": (2.0 * rng.integers(0, 2, size=(50, 8, 8)) - 1.0).astype(np.float32),
        # flashes: stored float64 to exercise the conversion; 10x6 frames
        "flashes": rng.standard_normal((40, 10, 6)),
    }
    n_cells = 3
    expected = {"file": "interneurons_fixture.h5", "seed": SEED, "cell_type": "bipolars", "groups": {}}
    with h5py.File(path, "w") as f:
        f.attrs["cell_type"] = "bipolars"
        for name, stim in groups.items():
            t = stim.shape[0]
            pot = rng.standard_normal((n_cells, t)).cumsum(axis=1)  # float64 (n_cells, T)
            g = f.create_group(name)
            g.create_dataset("stimuli", data=stim)
            g.create_dataset("detrended_membrane_potential", data=pot)
            expected["groups"][name] = {
                "T": t, "H": stim.shape[1], "W": stim.shape[2], "N": n_cells,
                "stimuli_sum": f32sum(stim),
                "stimuli_entries": [entry(stim, (0, 0, 0)), entry(stim, (t - 1, stim.shape[1] - 1, stim.shape[2] - 1))],
                "potential_sum_per_cell": [f32sum(pot[c]) for c in range(n_cells)],
                # entries as [cell, t, value]
                "potential_entries": [entry(pot, (0, 0)), entry(pot, (n_cells - 1, t - 1)), entry(pot, (1, 11))],
            }
    with open(os.path.join(ROOT, "interneurons_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    rng = np.random.default_rng(SEED)
    recording(rng)
    interneurons(rng)


if __name__ == "__main__":
    main()
