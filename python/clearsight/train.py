"""Training entry points: reinforcement learning, adversarial imitation and behavioural cloning.

Each trains into a run folder exactly as the matching ``clearsight`` command does (a run folder
with a checkpoint continues), and returns a dict with the run directory, the outcome and the
metrics rows read back from the folder's ``metrics.jsonl``.
"""

import json
import os

from ._clearsight import _learning


def _read_rows(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return rows


def _result(run_dir, outcome):
    out = dict(outcome)
    out["run_dir"] = os.path.abspath(run_dir)
    out["metrics"] = _read_rows(run_dir)
    summary = os.path.join(run_dir, "summary.json")
    out["summary"] = json.load(open(summary)) if os.path.exists(summary) else None
    return out


def _settings(fixed, settings):
    merged = dict(settings or {})
    merged.update({k: v for k, v in fixed.items() if v is not None})
    return json.dumps(merged)


def train_rl(out, env="Hopper-v4", algo="sac", steps=None, seed=0, settings=None):
    """``clearsight rl train``: settings are the run config's fields (e.g. {"sac": {"batch_size":
    64}, "eval_every": 5000}); returns {run_dir, steps, finished, last_eval_return,
    best_eval_return, metrics, summary}."""
    text = _settings({"env": env, "algo": algo, "steps": steps, "seed": seed}, settings)
    return _result(out, _learning.train_rl(text, str(out)))


def imitate(out, demos, env="Hopper-v4", algo="dida", steps=None, seed=0, settings=None):
    """``clearsight imitate --algo gail|dida`` on a demonstration file."""
    text = _settings({"env": env, "algo": algo, "demos": str(demos), "steps": steps,
                      "seed": seed}, settings)
    return _result(out, _learning.imitate(text, str(out)))


def train_bc(out, demos, steps=None, seed=0, settings=None):
    """``clearsight imitate --algo bc``: behavioural cloning on a demonstration file."""
    text = _settings({"steps": steps, "seed": seed}, settings)
    return _result(out, _learning.train_bc(str(demos), text, str(out)))


def load_policy(path):
    """A policy folder (a run's policy/ or best/) with act_batch(observations)."""
    return _learning.load_policy(str(path))
