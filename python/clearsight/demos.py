"""Demonstration files (HDF5, the D4RL layout) as dicts of numpy arrays."""

from ._clearsight import _learning


def load(path, env="", as_numpy=True):
    """The file's arrays by D4RL key (observations, actions, rewards, next_observations,
    terminals, timeouts; images and camera_poses when it has frames) and its summary under
    "summary". env: refuse a file made for another environment."""
    tensors, summary = _learning.load_demos(str(path), env)
    out = {k: (v.numpy() if as_numpy else v) for k, v in tensors.items()}
    out["summary"] = summary
    return out


def get_dataset(path, env=""):
    """D4RL's get_dataset(): the arrays only (numpy), keyed as D4RL keys them."""
    data = load(path, env)
    data.pop("summary")
    return data


def collect(out, expert="random", env="", episodes=10, seed=0, noise="", max_steps=0, pixels=0):
    """``clearsight demos collect``: rolls expert (a policy folder or "random", which needs env)
    out, writes the HDF5 file `out` and returns its summary. noise: e.g. "gauss:0.3+mix:0.2";
    pixels: also record pixels x pixels frames."""
    return _learning.collect_demos(str(expert), env, str(out), int(episodes), int(seed), noise,
                                   int(max_steps), int(pixels))
