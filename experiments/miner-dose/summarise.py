"""Summarises experiments/miner-dose/<model>/*.json (written by run.sh): the mean relative drop of
MINER's selection and of the random selections (per seed, mean and a 95% t-interval) per ratio,
per task, and the metric / faithful variants; writes <model>/summary.md and <model>/dose.svg
(gnuplot). Usage: python3 experiments/miner-dose/summarise.py [model=cs-tiny-vl]"""
import glob
import json
import math
import os
import subprocess
import sys

# Two-sided 95% Student t quantiles by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def relative_drop(original, after):
    return (original - after) / original if original > 0 else 0.0


def interval(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, T95.get(n - 1, 1.96) * sd / math.sqrt(n)


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "cs-tiny-vl"
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), model)
    rows, lines = [], []
    for path in sorted(glob.glob(os.path.join(here, "ratio-*.json")),
                       key=lambda p: float(os.path.basename(p)[6:-5])):
        r = json.load(open(path))
        ratio = float(os.path.basename(path)[6:-5])
        tasks = r["tasks"]
        seeds = [sum(relative_drop(tasks[t]["original"], s[t]) for t in tasks) / len(tasks)
                 for s in r["random"]]
        mean, half = interval(seeds)
        rows.append((ratio, r["neurons"], r["mean_relative_drop"], seeds, mean, half, tasks))
        lines.append(f"{100 * ratio} {r['mean_relative_drop']} {mean} {half if half == half else 0}")
    out = [f"# MINER dose-response on {model}", "",
           "Mean relative drop over the tasks (MINER's LA_MU selection, default weights) and of "
           "random selections of the same size (per seed; mean and 95% t-interval).", "",
           "| ratio | neurons | MINER | random per seed | random mean +- 95% |",
           "|---|---|---|---|---|"]
    for ratio, neurons, miner, seeds, mean, half, _ in rows:
        out.append(f"| {100 * ratio:g}% | {neurons} | {miner:.4f} | "
                   f"{', '.join(f'{s:.4f}' for s in seeds)} | {mean:.4f} +- {half:.4f} |")
    if rows:
        out += ["", "Per task (original -> with MINER's neurons off; random mean):", "",
                "| ratio | " + " | ".join(rows[0][6].keys()) + " |",
                "|---|" + "---|" * len(rows[0][6])]
        for ratio, *_, tasks in rows:
            out.append(f"| {100 * ratio:g}% | " + " | ".join(
                f"{v['original']:.3f} -> {v['ablated']:.3f} ({v.get('random_mean', float('nan')):.3f})"
                for v in tasks.values()) + " |")
    variants = sorted(glob.glob(os.path.join(here, "metric-*.json"))) + \
        sorted(glob.glob(os.path.join(here, "faithful-*.json")))
    if variants:
        out += ["", "Variants at 2% (no random control; compare with the 2% row above):", "",
                "| variant | neurons | mean relative drop |", "|---|---|---|"]
        for path in variants:
            r = json.load(open(path))
            out.append(f"| {os.path.basename(path)[:-5]} | {r['neurons']} | "
                       f"{r['mean_relative_drop']:.4f} |")
    with open(os.path.join(here, "summary.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    if lines:
        data = os.path.join(here, "dose.dat")
        with open(data, "w") as f:
            f.write("\n".join(lines) + "\n")
        script = (f"set terminal svg size 640,400; set output '{os.path.join(here, 'dose.svg')}';"
                  "set logscale x; set xlabel 'neurons deactivated (% of MLP neurons)';"
                  "set ylabel 'mean relative drop'; set key top left;"
                  f"plot '{data}' using 1:2 with linespoints title 'MINER',"
                  f" '{data}' using 1:3:4 with yerrorlines title 'random (95% t-interval)'")
        subprocess.run(["gnuplot", "-e", script], check=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
