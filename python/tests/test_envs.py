"""Environments with Gymnasium's API (without gymnasium installed)."""

import numpy as np
import pytest

import clearsight as cs


def test_reset_step_render_and_spaces():
    env = cs.envs.make("Hopper-v4", width=32, height=24)
    assert env.observation_space.shape == (11,)
    assert env.action_space.shape == (3,)
    assert np.all(env.action_space.low == -1.0) and np.all(env.action_space.high == 1.0)
    obs, info = env.reset(seed=3)
    assert obs.shape == (11,) and info["seed"] == 3
    again, _ = env.reset(seed=3)
    assert np.array_equal(obs, again)
    env.action_space.seed(0)
    a = env.action_space.sample()
    assert env.action_space.contains(a)
    obs2, reward, terminated, truncated, info = env.step(a)
    assert obs2.shape == (11,) and isinstance(reward, float)
    assert isinstance(terminated, bool) and isinstance(truncated, bool)
    assert "reward_survive" in info or len(info) > 1
    frame = env.render()
    assert frame.shape == (24, 32, 3) and frame.dtype == np.uint8 and frame.std() > 0


def test_bad_actions_and_names():
    env = cs.envs.make("Swimmer-v4")
    with pytest.raises(cs.RuntimeError, match="reset"):
        env.step(np.zeros(2))
    env.reset(seed=0)
    with pytest.raises(cs.ShapeError):
        env.step(np.zeros(5))
    with pytest.raises(cs.NumericError):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(cs.UnknownNameError):
        cs.envs.make("Hoper-v4")
    assert "walker-walk" in cs.envs.names()
