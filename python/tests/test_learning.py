"""Demonstrations, training entry points and policies from Python."""

import numpy as np
import pytest

import clearsight as cs

TINY_SAC = {"eval_every": 100, "eval_episodes": 1, "checkpoint_every": 100, "log_every": 50,
            "sac": {"hidden": [16], "batch_size": 16, "learning_starts": 50}}


def test_demos_train_and_act(tmp_path):
    demos = tmp_path / "random.h5"
    summary = cs.demos.collect(demos, env="Hopper-v4", episodes=3, seed=2, max_steps=20,
                               noise="gauss:0.1")
    assert summary["episodes"] == 3
    data = cs.demos.get_dataset(demos, env="Hopper-v4")
    for key in ("observations", "actions", "rewards", "next_observations", "terminals",
                "timeouts"):
        assert isinstance(data[key], np.ndarray), key
    n = len(data["rewards"])
    assert data["observations"].shape == (n, 11) and data["actions"].shape == (n, 3)
    with pytest.raises(cs.ConfigError):
        cs.demos.load(demos, env="Swimmer-v4")

    run = cs.train_rl(tmp_path / "sac", env="Hopper-v4", steps=200, seed=1, settings=TINY_SAC)
    assert run["finished"] and run["steps"] == 200
    assert run["metrics"] and run["summary"] is not None
    policy = cs.load_policy(tmp_path / "sac" / "policy")
    import torch

    act = policy.act_batch(torch.from_numpy(data["observations"][:5]))
    assert act.shape == (5, 3) and float(act.abs().max()) <= 1.0

    gail = dict(TINY_SAC, disc={"hidden": [16], "batch_size": 16})
    r = cs.imitate(tmp_path / "gail", demos, env="Hopper-v4", algo="gail", steps=100,
                   settings=gail)
    assert r["finished"] and r["steps"] == 100

    bc = cs.train_bc(tmp_path / "bc", demos, steps=30,
                     settings={"hidden": [16], "eval_every": 30, "eval_episodes": 1})
    assert bc["finished"] and np.isfinite(bc["final_validation_nll"])


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(cs.ConfigError):
        cs.train_rl(tmp_path / "x", steps=10, settings={"no_such_field": 1})
    with pytest.raises(cs.UnknownNameError):
        cs.train_rl(tmp_path / "y", algo="sacc", steps=10)
