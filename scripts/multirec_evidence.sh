#!/usr/bin/env bash
# The evidence of docs/multirecording.md (issue 23), at small scale on the CPU: four simulated
# retinas (the "small" preset, seeds 1–4: each draws its own cell positions and types, 4 min of
# binary white noise each); retina 4 is the "new" one. For retina 4 it trains and scores
#   (a)  one BNCNN on retina 4 alone, from 1, 2 and 4 minutes of its training windows, with the
#        reference's dense readout and, as the readout's own control, the factorised one;
#   (b)  a core trained on retinas 1–3 (factorised readouts), then only retina 4's readout on
#        the frozen core, from the same 1, 2 and 4 minutes;
#   (c)  a core trained on all four retinas at once (retina 4 with all its data);
# and tabulates retina 4's test r and FEV, beside the ridge LN and the reliability ceiling of
# the same test set. It then probes the hidden units of (c)'s core and of (a)'s 4-minute model
# against retina 4's bipolar and amacrine cells (deepretina probe).
#
# "N minutes" is N·6,000 training windows (100 Hz) drawn at random across the recording
# (max_train_windows), not its first N minutes; 4 minutes is all of it (about 22,800 windows
# once 5 % are held out for validation). Every run writes its own folder, and running the script
# again reuses the runs that finished.
#
# SEEDS repeats (a) and (b) with other training seeds (config key "seed": it draws the
# train/validation split, the N minutes' windows, the initial weights and the batch order, so
# (a) and (b) of one seed see the same windows). By default every seed's (b) uses the same
# core, core3, trained once with seed 0: the spread measured is that of the fine-tuning and of
# the models of retina 4's own, not of the core. CORE_PER_SEED=1 trains a core on retinas 1–3
# per seed instead (core3-sN, that seed; seed 0 keeps core3) and names (b)'s runs bc-…, so both
# kinds of (b) can share one OUT and its (a) runs. DURATIONS picks the minutes; (c) runs only
# when it holds 4.
# With more than one seed the script also prints mean ± SD (sample SD, n−1) over the seeds.
#
# usage: scripts/multirec_evidence.sh [OUT]      (default out/multirec)
#        EPOCHS=8 CORE_EPOCHS=4 PROBE=0 scripts/multirec_evidence.sh
#        SEEDS="1 2 3" DURATIONS=2 PROBE=0 scripts/multirec_evidence.sh out/multirec-seeds
#        SEEDS="1 2 3" DURATIONS=2 PROBE=0 CORE_PER_SEED=1 scripts/multirec_evidence.sh out/multirec-seeds
# EPOCHS bounds the runs on retina 4 alone and the readouts (early stopping after 4 epochs
# without improvement); CORE_EPOCHS the cores, whose epochs hold three or four retinas' data.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/multirec}
EPOCHS=${EPOCHS:-8}
CORE_EPOCHS=${CORE_EPOCHS:-4}
PROBE=${PROBE:-1}
SEEDS=${SEEDS:-0}
CORE_PER_SEED=${CORE_PER_SEED:-0}
case $CORE_PER_SEED in 0 | 1) ;; *)
	echo "CORE_PER_SEED=$CORE_PER_SEED: expected 0 (one core for every seed) or 1 (a core per seed)" >&2
	exit 2
	;;
esac
DURATIONS=${DURATIONS:-1 2 4}
for d in $DURATIONS; do
	case $d in 1 | 2 | 4) ;; *)
		echo "DURATIONS: $d minutes; expected 1, 2 or 4" >&2
		exit 2
		;;
	esac
done
mkdir -p "$OUT"
BIN="$OUT/deepretina"
go build -o "$BIN" ./cmd/deepretina
DATA="$OUT/data"
RUNS="$OUT/runs"

for s in 1 2 3 4; do
	if [ ! -f "$DATA/ret$s/whitenoise.h5" ]; then
		"$BIN" simulate --out "$DATA" --seed "$s" --name "ret$s" --stim whitenoise
	fi
done

# config NAME DATASET READOUT MAX_WINDOWS RECORDINGS_JSON [N_EPOCHS [SEED]]: a config file on the CPU
# default (runconfig.SmallConfig's keys written out, since a --config file starts from the
# published ones).
config() {
	local name=$1 dataset=$2 readout=$3 windows=$4 recordings=$5 epochs=${6:-$EPOCHS} seed=${7:-0}
	local file="$OUT/configs/$name.json"
	mkdir -p "$OUT/configs"
	cat >"$file" <<EOF
{
  "exp_name": "$name", "model_type": "BNCNN", "dataset": "$dataset", "stim_type": "whitenoise",
  "datapath": "$(cd "$DATA" && pwd)", "img_shape": [40, 20, 20], "chans": [8, 8], "ksizes": [9, 7],
  "batch_size": 64, "n_epochs": $epochs, "lr": 0.002, "l1": 1e-5, "l2": 0.001,
  "scheduler_patience": 2, "early_stopping": 4, "seed": $seed,
  "readout": "$readout", "max_train_windows": $windows$recordings
}
EOF
	echo "$file"
}

train() { # CONFIG [FLAGS…]
	local cfg=$1
	shift
	"$BIN" train --config "$cfg" --out "$RUNS" --no-ln "$@" >"$OUT/$(basename "$cfg" .json).log" 2>&1 ||
		{ tail -20 "$OUT/$(basename "$cfg" .json).log"; exit 1; }
	echo "trained $(basename "$cfg" .json)"
}

windows_of() { if [ "$1" = 4 ]; then echo 0; else echo $(($1 * 6000)); fi; }

# A run's folder name: seed 0 keeps the names of the one-seed table, so its runs are reused.
suffix() { if [ "$1" = 0 ]; then echo ""; else echo "-s$1"; fi; }

# (c) and (b)'s core.
case " $DURATIONS " in *" 4 "*)
	train "$(config core4 ret1 factorised 0 ', "recordings": ["ret1", "ret2", "ret3", "ret4"]' "$CORE_EPOCHS")"
	;;
esac
# core3 of a seed (CORE_PER_SEED=1) or of seed 0, and the prefix of the (b) runs on it.
if [ "$CORE_PER_SEED" = 1 ]; then
	b_prefix=bc
else
	b_prefix=b
	train "$(config core3 ret1 factorised 0 ', "recordings": ["ret1", "ret2", "ret3"]' "$CORE_EPOCHS")"
fi
for seed in $SEEDS; do
	x=$(suffix "$seed")
	core=core3
	if [ "$CORE_PER_SEED" = 1 ]; then
		core=core3$x
		train "$(config "$core" ret1 factorised 0 ', "recordings": ["ret1", "ret2", "ret3"]' "$CORE_EPOCHS" "$seed")"
	fi
	for m in $DURATIONS; do
		w=$(windows_of "$m")
		train "$(config "a-dense-${m}min$x" ret4 dense "$w" '' "$EPOCHS" "$seed")"
		train "$(config "a-fact-${m}min$x" ret4 factorised "$w" '' "$EPOCHS" "$seed")"
		train "$(config "$b_prefix-${m}min$x" ret4 factorised "$w" ', "recordings": ["ret4"]' "$EPOCHS" "$seed")" --from "$RUNS/$core" --readout-only
	done
done

# Retina 4's test scores: eval.json of its single runs, eval-ret4.json of the others.
python3 - "$RUNS" "$EPOCHS" "$CORE_EPOCHS" "$SEEDS" "$DURATIONS" "$CORE_PER_SEED" <<'EOF' | tee "$OUT/table$([ "$CORE_PER_SEED" = 1 ] && echo -core-per-seed).md"
import json, sys, os, statistics
runs, epochs, core_epochs = sys.argv[1], sys.argv[2], sys.argv[3]
seeds, durations = [int(s) for s in sys.argv[4].split()], [int(d) for d in sys.argv[5].split()]
core_per_seed = sys.argv[6] == "1"
suffix = lambda seed: "" if seed == 0 else f"-s{seed}"
def ev(run, rec=None):
    path = os.path.join(runs, run, f"eval-{rec}.json" if rec else "eval.json")
    e = json.load(open(path))
    meta = json.load(open(os.path.join(runs, run, "run.json")))
    return e, meta
kinds = [("(a) one model, dense readout", "a-dense", None),
         ("(a) one model, factorised readout", "a-fact", None),
         ("(b) readout on the frozen core of retinas 1–3" + (" (core of the same seed)" if core_per_seed else ""),
          "bc" if core_per_seed else "b", "ret4")]
rows = []
for seed in seeds:
    for m in durations:
        for name, prefix, rec in kinds:
            rows.append((name, m, seed, *ev(f"{prefix}-{m}min{suffix(seed)}", rec)))
if 4 in durations:
    rows.append(("(c) one core on retinas 1–4", 4, 0, *ev("core4", "ret4")))
print(f"Retina 4 (simulated, small preset, seed 4), test set; at most {epochs} epochs ({core_epochs} for the cores); training seeds {seeds}, " +
      ("a core per seed for (b)" if core_per_seed else "one core (seed 0) for every (b)") + ".\n")
print("| model | minutes of retina 4 | seed | test r (CNN) | FEV (CNN) | best epoch | ridge LN r | ceiling r |")
print("|---|---|---|---|---|---|---|---|")
f = lambda x: "n/a" if x is None else f"{x:.3f}"
for name, m, seed, e, meta in rows:
    print(f"| {name} | {m} | {seed} | {f(e['cnn_pearson_mean'])} | {f(e['fev_mean'])} | {meta['best_epoch']} | {f(e['ln_pearson_mean'])} | {f(e['ceiling_mean'])} |")
if len(seeds) > 1:
    # Over seeds: each model's mean ± sample SD, and (b) − (a) paired by seed (same windows).
    r = {(name, m, seed): e["cnn_pearson_mean"] for name, m, seed, e, _ in rows}
    print(f"\nOver {len(seeds)} training seeds (test r, mean ± sample SD; per seed in order {seeds}):\n")
    print("| model | minutes | mean ± SD | per seed |")
    print("|---|---|---|---|")
    for m in durations:
        for name, _, _ in kinds:
            v = [r[(name, m, s)] for s in seeds]
            print(f"| {name} | {m} | {statistics.mean(v):.3f} ± {statistics.stdev(v):.3f} | {', '.join(f'{x:.3f}' for x in v)} |")
    print("\n| paired difference | minutes | mean ± SD | per seed |")
    print("|---|---|---|---|")
    for m in durations:
        for name, _, _ in kinds[:2]:
            d = [r[(kinds[2][0], m, s)] - r[(name, m, s)] for s in seeds]
            print(f"| (b) − {name} | {m} | {statistics.mean(d):+.3f} ± {statistics.stdev(d):.3f} | {', '.join(f'{x:+.3f}' for x in d)} |")
EOF

if [ "$PROBE" = 1 ]; then
	for spec in "core4 --recording ret4" "a-dense-4min"; do
		set -- $spec
		run=$1
		shift
		if [ ! -f "$OUT/probe-$run/probe.json" ]; then
			"$BIN" probe --run "$RUNS/$run" "$@" --out "$OUT/probe-$run" >"$OUT/probe-$run.log" 2>&1 ||
				{ tail -20 "$OUT/probe-$run.log"; exit 1; }
		fi
		echo "probe of $run:"
		python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(json.dumps(s, indent=1)[:2000])' "$OUT/probe-$run/probe.json"
	done
fi
