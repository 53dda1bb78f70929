#!/usr/bin/env python3
"""Summarise scripts/recipes.sh candidates over their model seeds (standard library only).

    python3 scripts/recipeseeds.py OUT [--all]

reads every OUT/<candidate>/ that scripts/recipes.sh left (through scripts/recipetable.py's
reader) and groups the candidates into recipes: the same configuration in its run.json except
"seed" and "exp_name" (and the data folder's path), trained on the same data variant. So
k3-16x8-crange4 (seed 0), k3-16x8-s1-crange4 (seed 1) and k3-16x8-s2-crange4 (seed 2) are one
recipe, and the default (no --config) joins default-s1, default-s2, … since their configs equal
runconfig.SmallConfig but for the seed. A recipe is named after its lowest-seed candidate.

Writes OUT/seeds.md (printed too) and OUT/seeds.json. Only recipes with at least 2 seeds are
listed unless --all. Per recipe: the phenomena of the truth's that the model misses, per seed
(in seed order), with their mean and range; for each of the truth's phenomena, in how many seeds
the model shows it; the phenomena the model shows but the truth does not (in how many seeds); the
difference of its mean misses from the default's, with an exact permutation test over the seeds;
in how many seeds the probe's target is met per type;
test r and FEV; the probe's held-out r for bipolar and amacrine cells with the null (the potential
shifted circularly in time) and the untrained control (probe --control-seed, so the same for every
model seed); train CPU s (user + sys). "mean (min–max)" throughout.

Why: a candidate measured with one model seed is a draw. The seed alone (the config's "seed":
initial weights, which training windows are held out for validation, their order, the training
noise draws; the simulated data are the same) moves a recipe's misses by 1–3 (docs/validation.md,
"Recipe search"), so a difference between recipes means something only when it is large against
the spread within each.
"""
import glob
import itertools
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recipetable  # noqa: E402  (the same directory; shares the per-candidate reader)

SHORT = recipetable.SHORT
# The configuration keys that do not make a different recipe.
NOT_RECIPE = ("seed", "exp_name", "datapath")


def run_config(out, name):
    """The candidate's run.json config, found under OUT/<name>/runs (run.txt may name the folder
    where the results were first made, before OUT was copied)."""
    for p in sorted(glob.glob(os.path.join(out, name, "runs", "*", "run.json"))):
        try:
            with open(p) as f:
                return json.load(f)["config"]
        except (OSError, ValueError, KeyError):
            continue
    return None


def spread(xs, spec=".3f"):
    """'mean (min–max)' of the values present, or '–'."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    if min(xs) == max(xs):
        return format(xs[0], spec)
    return f"{format(statistics.mean(xs), spec)} ({format(min(xs), spec)}–{format(max(xs), spec)})"


def avg(xs, spec=".3f"):
    xs = [x for x in xs if x is not None]
    return format(statistics.mean(xs), spec) if xs else "–"


def permutation_p(a, b):
    """Two-sided exact permutation test of the difference of means of a and b: the share of all
    ways to split a + b into groups of their sizes whose |difference| is at least the observed one.
    With a handful of seeds a recipe needs all its seeds to beat all of the other's to reach
    p < 0.05, which is the point: fewer seeds cannot tell a recipe from its noise."""
    pooled, n = a + b, len(a)
    obs = abs(statistics.mean(a) - statistics.mean(b))
    hits = total = 0
    for idx in itertools.combinations(range(len(pooled)), n):
        x = [pooled[i] for i in idx]
        y = [pooled[i] for i in range(len(pooled)) if i not in idx]
        total += 1
        hits += abs(statistics.mean(x) - statistics.mean(y)) >= obs - 1e-12
    return hits / total


def summarise(rows):
    """One dict per recipe, its seeds in order."""
    found = {p for r in rows for s in r["seeds"] for p in s.get("truth_shown", [])}
    truth = [p for p in SHORT if p in found] + sorted(found - set(SHORT))
    out = []
    for r in rows:
        seeds = sorted(r["seeds"], key=lambda s: s["seed"])
        done = [s for s in seeds if "missed" in s]
        probe = lambda t, k: [s["probe"][t][k] for s in seeds if t in s.get("probe", {})]  # noqa: E731
        only = {}
        for s in done:
            for p in s["model_only"]:
                only[p] = only.get(p, 0) + 1
        out.append({
            "recipe": r["recipe"], "data": r["data"],
            "candidates": [s["name"] for s in seeds], "seeds": [s["seed"] for s in seeds],
            "missed_per_seed": [len(s["missed"]) if "missed" in s else None for s in seeds],
            "missed": [s.get("missed") for s in seeds],
            "truth_shown": truth,
            "shown_in_seeds": {p: sum(p in s["shown"] for s in done) for p in truth},
            "phenomena_seeds": len(done),
            "model_only_in_seeds": only,
            "probe_seeds": sum(bool(s.get("probe_met")) for s in seeds),
            "probe_met_in_seeds": {t: sum(bool(s.get("probe_met", {}).get(t)) for s in seeds) for t in ("bipolar", "amacrine")},
            "test_r": [s.get("test_r") for s in seeds], "fev": [s.get("fev") for s in seeds],
            "bipolar": probe("bipolar", "held_out"), "bipolar_null": probe("bipolar", "null"),
            "bipolar_untrained": probe("bipolar", "untrained"),
            "amacrine": probe("amacrine", "held_out"), "amacrine_null": probe("amacrine", "null"),
            "amacrine_untrained": probe("amacrine", "untrained"),
            "train_cpu_s": [s["train"]["cpu_s"] if "train" in s else None for s in seeds],
            "train_load_1min": [s["train"]["load_1min"] if "train" in s else [] for s in seeds],
        })
    return out, truth


def markdown(recipes, truth):
    lines = ["| recipe | data | seeds | missed per seed | missed mean (range) | vs default (p) | test r | FEV "
             "| bipolar held out (null) [untrained] | amacrine held out (null) [untrained] | train CPU s |",
             "|" + "---|" * 11]
    base = next((r for r in recipes if "default" in r["candidates"]), None)
    base_m = [x for x in base["missed_per_seed"] if x is not None] if base else []
    for r in recipes:
        m = [x for x in r["missed_per_seed"] if x is not None]
        vs = "–"
        if m and base_m and r is not base:
            d = statistics.mean(m) - statistics.mean(base_m)
            vs = f"{d:+.2f} ({permutation_p(m, base_m):.2f})"
            r["vs_default"] = {"missed_mean_difference": d, "permutation_p": permutation_p(m, base_m)}
        per = ", ".join("–" if x is None else str(x) for x in r["missed_per_seed"])
        mean = f"{statistics.mean(m):.2f} ({min(m)}–{max(m)})" if m else "–"
        cell = {t: f"{spread(r[t])} ({avg(r[t + '_null'])}) [{spread(r[t + '_untrained'])}]" for t in ("bipolar", "amacrine")}
        lines.append(f"| {r['recipe']} | {r['data']} | {', '.join(map(str, r['seeds']))} | {per} | {mean} | {vs} "
                     f"| {spread(r['test_r'])} | {spread(r['fev'])} | {cell['bipolar']} | {cell['amacrine']} "
                     f"| {spread(r['train_cpu_s'], '.0f')} |")
    lines += ["", "In how many seeds the model shows each of the truth's phenomena (of the seeds whose phenomena "
              "stage finished), the phenomena it shows that the truth does not, and in how many seeds (of those whose probe "
              "stage finished) the probe's target is met (held out ≥ 0.7 and ≥ 0.1 above the untrained control):", ""]
    head = "| recipe | " + " | ".join(SHORT.get(p, p) for p in truth) + " | model only | probe target met: bipolar, amacrine |"
    lines += [head, "|" + "---|" * (len(truth) + 3)]
    for r in recipes:
        n = r["phenomena_seeds"]
        only = ", ".join(f"{SHORT.get(p, p)} {k}/{n}" for p, k in sorted(r["model_only_in_seeds"].items())) or "none"
        pm, pn = r["probe_met_in_seeds"], r["probe_seeds"]
        lines.append(f"| {r['recipe']} | " + " | ".join(f"{r['shown_in_seeds'][p]}/{n}" for p in truth) + f" | {only} "
                     f"| {pm['bipolar']}/{pn}, {pm['amacrine']}/{pn} |")
    lines += ["", "Phenomena: " + ", ".join(f"{v} {k}" for k, v in SHORT.items() if k in truth) + ". Values are "
              "mean (min–max) over the seeds; the seeds are model seeds (the config's \"seed\": initial weights, "
              "validation split, batch order, noise draws) on the same simulated data. vs default: the difference of its mean misses from the default's, and the "
              "two-sided exact permutation p of that difference over the seeds of both. Probe: mean held-out r over the type's cells; null (its mean over the seeds): the "
              "same with each cell's potential shifted circularly in time; untrained: the same architecture with initial weights of probe --control-seed (1 by default, "
              "the same for every seed). Train CPU s: user + sys of the whole "
              "`train` command, on a shared machine."]
    return "\n".join(lines) + "\n"


def main():
    argv = sys.argv[1:]
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        return
    flags = [a for a in argv if a.startswith("-")]
    args = [a for a in argv if not a.startswith("-")]
    for f in flags:
        if f != "--all":
            sys.exit(f"recipeseeds.py: unknown flag {f} (usage: recipeseeds.py OUT [--all]; see --help)")
    if len(args) != 1:
        sys.exit(f"recipeseeds.py: expected one output folder of scripts/recipes.sh, got {len(args)} "
                 "(usage: recipeseeds.py OUT [--all]; see --help)")
    out, show_all = args[0], "--all" in flags
    if not os.path.isdir(out):
        sys.exit(f"recipeseeds.py: {out}: no such folder (the --out folder of scripts/recipes.sh)")
    groups, pending = {}, []
    for name in sorted(os.listdir(out)):
        d = os.path.join(out, name)
        if not os.path.isfile(os.path.join(d, "candidate.txt")):
            continue
        cfg = run_config(out, name)
        if cfg is None or not os.path.isfile(os.path.join(d, "train.done")):
            pending.append(name)  # its training has not finished
            continue
        row = recipetable.candidate(out, name)
        if row["quick"]:
            continue
        row["seed"] = cfg.get("seed", 0)
        key = json.dumps({k: v for k, v in cfg.items() if k not in NOT_RECIPE}, sort_keys=True) + "|" + row["data"]
        groups.setdefault(key, {"data": row["data"], "seeds": []})["seeds"].append(row)
    if not groups and not pending:
        sys.exit(f"recipeseeds.py: {out}: no candidate of scripts/recipes.sh in it (no */candidate.txt)")
    rows = []
    for g in groups.values():
        seeds = [s["seed"] for s in g["seeds"]]
        if len(set(seeds)) != len(seeds):
            sys.exit(f"recipeseeds.py: two candidates of one recipe at the same seed: "
                     f"{', '.join(s['name'] for s in g['seeds'])}")
        g["recipe"] = min(g["seeds"], key=lambda s: s["seed"])["name"]
        if show_all or len(seeds) >= 2:
            rows.append(g)
    rows.sort(key=lambda g: g["recipe"])
    recipes, truth = summarise(rows)
    md = markdown(recipes, truth)
    if pending:
        md += "\nNot trained yet (left out): " + ", ".join(pending) + ".\n"
    with open(os.path.join(out, "seeds.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "seeds.json"), "w") as f:
        json.dump(recipes, f, indent=1)
    print(md)


if __name__ == "__main__":
    main()
