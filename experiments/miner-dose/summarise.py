"""Summarises experiments/miner-dose/<model>/*.json (written by run.sh and controls.sh): per ratio
the mean relative drop of MINER's selection and of the random selections of the same size (per
seed, mean and a 95% t-interval), over all tasks and, on the VL model, over the official code's
three non-video tasks; per task; the single-metric, --faithful, magnitude and attribution
variants; and the overlap of the --faithful and default selections. Writes <model>/summary.md
and <model>/dose.svg (gnuplot). Usage: python3 experiments/miner-dose/summarise.py [model]"""
import glob
import json
import math
import os
import struct
import subprocess
import sys

# Two-sided 95% Student t quantiles by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
# The official MINER code's aggregate on a VL model leaves the video task out.
OFFICIAL = {"cs-tiny-vl": ["scene_vqa", "scene_caption", "text_choice"]}


def relative_drop(original, after):
    return (original - after) / original if original > 0 else 0.0


def interval(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, T95.get(n - 1, 1.96) * sd / math.sqrt(n)


def drop_over(result, tasks, scores=None):
    """Mean relative drop over tasks of the selection (scores=None) or of one random seed."""
    t = result["tasks"]
    return sum(relative_drop(t[k]["original"], (scores or {}).get(k, t[k]["ablated"]))
               for k in tasks) / len(tasks)


def masks(path):
    """(modalities, [modality][layer][neuron] bools) of a selection file (safetensors)."""
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    entry = header["masks"]
    m, layers, neurons = entry["shape"]
    start, end = entry["data_offsets"]
    data = blob[8 + n + start:8 + n + end]
    mods = header["__metadata__"]["modalities"].split(",")
    return mods, [[[data[(i * layers + l) * neurons + k] != 0 for k in range(neurons)]
                   for l in range(layers)] for i in range(m)]


def neuron_set(mask):
    return {(l, k) for l, row in enumerate(mask) for k, v in enumerate(row) if v}


def overlap_rows(a_path, b_path):
    mods_a, a = masks(a_path)
    mods_b, b = masks(b_path)
    rows, union_a, union_b = [], set(), set()
    for i, name in enumerate(mods_a):
        sa = neuron_set(a[i])
        union_a |= sa
        if name in mods_b:
            sb = neuron_set(b[mods_b.index(name)])
            union_b |= sb
            both = len(sa & sb)
            rows.append((name, len(sa), len(sb), both, both / max(1, len(sa | sb))))
    both = len(union_a & union_b)
    rows.append(("union", len(union_a), len(union_b), both, both / max(1, len(union_a | union_b))))
    return rows


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "cs-tiny-vl"
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), model)
    aggregates = [("all tasks", None)]
    if model in OFFICIAL:
        aggregates.append(("official (no video)", OFFICIAL[model]))
    rows = []
    for path in sorted(glob.glob(os.path.join(here, "ratio-*.json")),
                       key=lambda p: float(os.path.basename(p)[6:-5])):
        r = json.load(open(path))
        ratio = float(os.path.basename(path)[6:-5])
        per_aggregate = []
        for _, tasks in aggregates:
            tasks = tasks or sorted(r["tasks"])
            seeds = [drop_over(r, tasks, s) for s in r["random"]]
            per_aggregate.append((drop_over(r, tasks), seeds) + interval(seeds))
        rows.append((ratio, r, per_aggregate))
    out = [f"# MINER dose-response on {model}", "",
           "Mean relative drop of the task scores with MINER's LA_MU selection (default weights) "
           "deactivated, and with random selections of the same size (per seed; mean and 95% "
           "t-interval). `neurons` is the union MINER's selection deactivates, as a share of all "
           "LM MLP neurons.", ""]
    for a, (label, tasks) in enumerate(aggregates):
        out += [f"## Over {label}" + (f": {', '.join(tasks)}" if tasks else ""), "",
                "| ratio | neurons | MINER | random per seed | random mean +- 95% |",
                "|---|---|---|---|---|"]
        for ratio, r, per in rows:
            miner, seeds, mean, half = per[a]
            out.append(f"| {100 * ratio:g}% | {r['neurons']} ({100 * r['ablated_fraction']:.1f}%)"
                       f" | {miner:.4f} | {', '.join(f'{s:.4f}' for s in seeds)} | "
                       f"{mean:.4f} +- {half:.4f} |")
        out.append("")
    if rows:
        names = sorted(rows[0][1]["tasks"])
        out += ["## Per task", "", "Score with no neuron off -> with MINER's off (random mean).", "",
                "| ratio | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for ratio, r, _ in rows:
            t = r["tasks"]
            out.append(f"| {100 * ratio:g}% | " + " | ".join(
                f"{t[k]['original']:.3f} -> {t[k]['ablated']:.3f} "
                f"({t[k].get('random_mean', float('nan')):.3f})" for k in names) + " |")
        out.append("")
    by_ratio = {f"{ratio:g}": (r, per) for ratio, r, per in rows}
    variants = []
    for pattern in ("metric-*.json", "faithful-*.json", "magnitude-*.json", "attribution-*.json"):
        variants += sorted(glob.glob(os.path.join(here, pattern)))
    if variants:
        out += ["## Variants and controls", "",
                "Each evaluated on the same test samples, without its own random control: compare "
                "with the MINER and random rows of the ratio named (same number of neurons for "
                "magnitude and attribution; within a few for the single metrics and --faithful, "
                "which select at 2%).", "",
                "| variant | neurons | mean relative drop | MINER at that ratio | random mean +- 95% |",
                "|---|---|---|---|---|"]
        for path in variants:
            r = json.load(open(path))
            name = os.path.basename(path)[:-5]
            ratio = name.split("-")[-1] if name.split("-")[-1][0].isdigit() else "0.02"
            ref = by_ratio.get(f"{float(ratio):g}")
            miner = f"{ref[1][0][0]:.4f} ({ref[0]['neurons']})" if ref else "-"
            rand = f"{ref[1][0][2]:.4f} +- {ref[1][0][3]:.4f}" if ref else "-"
            out.append(f"| {name} | {r['neurons']} | {r['mean_relative_drop']:.4f} | {miner} | "
                       f"{rand} |")
        out.append("")
    a_path = os.path.join(here, "selections", "ratio-0.02.safetensors")
    b_path = os.path.join(here, "selections", "faithful-0.02.safetensors")
    if os.path.exists(a_path) and os.path.exists(b_path):
        out += ["## Default vs --faithful scores: overlap of the 2% selections", "",
                "| modality | default | faithful | both | Jaccard |", "|---|---|---|---|---|"]
        for name, na, nb, both, jac in overlap_rows(a_path, b_path):
            out.append(f"| {name} | {na} | {nb} | {both} | {jac:.2f} |")
        out.append("")
    with open(os.path.join(here, "summary.md"), "w") as f:
        f.write("\n".join(out))
    if rows:
        data = os.path.join(here, "dose.dat")
        with open(data, "w") as f:
            for ratio, r, per in rows:
                f.write(f"{100 * r['ablated_fraction']} " + " ".join(
                    f"{miner} {mean} {half if half == half else 0}"
                    for miner, _, mean, half in per) + "\n")
        plots = []
        for a, (label, _) in enumerate(aggregates):
            c = 2 + 3 * a
            plots.append(f"'{data}' using 1:{c} with linespoints lw 2 title 'MINER, {label}'")
            plots.append(f"'{data}' using 1:{c + 1}:{c + 2} with yerrorlines "
                         f"title 'random, {label} (95% t-interval)'")
        script = (f"set terminal svg size 720,440; set output '{os.path.join(here, 'dose.svg')}';"
                  f"set title 'MINER dose-response on {model}';"
                  "set logscale x; set xlabel 'neurons deactivated (% of all LM MLP neurons)';"
                  "set ylabel 'mean relative drop of the task scores'; set key top left;"
                  "set grid; plot " + ", ".join(plots))
        subprocess.run(["gnuplot", "-e", script], check=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
