"""ClearSight's environments with Gymnasium's conventions, with or without gymnasium installed.

``make(name)`` returns an :class:`Env`: ``reset(seed=None) -> (obs, info)``, ``step(action) ->
(obs, reward, terminated, truncated, info)``, ``render() -> uint8 [H, W, 3]`` and spaces with
``shape``, ``low``, ``high``, ``sample()`` and ``contains()``. When gymnasium is importable the
environments subclass ``gymnasium.Env``, their spaces are ``gymnasium.spaces.Box``, and
``gymnasium.make("clearsight/Hopper-v4")`` works.
"""

import numpy as np

from ._clearsight import _envs

try:  # pragma: no cover - depends on the machine
    import gymnasium as _gym
except ImportError:  # gymnasium is optional
    _gym = None


class Box:
    """A box of real vectors (what gymnasium.spaces.Box is, for machines without gymnasium)."""

    def __init__(self, low, high, shape, dtype=np.float64, seed=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.low = np.broadcast_to(np.asarray(low, dtype=self.dtype), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=self.dtype), self.shape).copy()
        self._rng = np.random.default_rng(seed)

    def seed(self, seed=None):
        """Reseeds sample()."""
        self._rng = np.random.default_rng(seed)

    def sample(self):
        """A uniform sample (normal where a bound is infinite)."""
        low = np.where(np.isfinite(self.low), self.low, -1.0)
        high = np.where(np.isfinite(self.high), self.high, 1.0)
        x = self._rng.uniform(low, high, self.shape)
        unbounded = ~np.isfinite(self.low) | ~np.isfinite(self.high)
        x[unbounded] = self._rng.normal(size=int(unbounded.sum()))
        return x.astype(self.dtype)

    def contains(self, x):
        """Whether x has this shape and lies within the bounds."""
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))

    def __repr__(self):
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"


def _box(space):
    if _gym is not None:
        return _gym.spaces.Box(np.asarray(space["low"]), np.asarray(space["high"]),
                               tuple(space["shape"]), np.float64)
    return Box(space["low"], space["high"], space["shape"])


_Base = _gym.Env if _gym is not None else object


class Env(_Base):
    """A ClearSight MuJoCo environment (Gymnasium's Env API)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, name, render_mode=None, width=64, height=64, camera=(3.0, 90.0, -45.0)):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', not {render_mode!r}")
        self._raw = _envs.RawEnv(name)
        self.spec_info = self._raw.spec()
        self.name = name
        self.observation_space = _box(self.spec_info["observation_space"])
        self.action_space = _box(self.spec_info["action_space"])
        self.render_mode = render_mode
        self.width, self.height = int(width), int(height)
        self.camera = tuple(float(c) for c in camera)
        self.max_episode_steps = self.spec_info["max_episode_steps"]
        self.metadata = dict(Env.metadata, render_fps=round(1.0 / self.spec_info["dt"]))
        self._seed = None

    def reset(self, *, seed=None, options=None):
        """Resets (reseeded when seed is given); returns (observation, info)."""
        if seed is None:
            seed = 0 if self._seed is None else self._seed + 1
        self._seed = int(seed)
        obs = self._raw.reset(self._seed)
        return obs, {"seed": self._seed}

    def step(self, action):
        """One step: (observation, reward, terminated, truncated, info)."""
        return self._raw.step(np.asarray(action, dtype=np.float64).reshape(-1))

    def render(self):
        """An RGB frame uint8 [height, width, 3] from self.camera (distance, azimuth, elev.)."""
        return self._raw.render(self.width, self.height, *self.camera)

    def close(self):
        """Releases nothing (the environment owns no external resources)."""

    @property
    def elapsed_steps(self):
        """Steps in the current episode."""
        return self._raw.elapsed_steps()

    def __repr__(self):
        return f"clearsight.envs.Env({self.name!r})"


def names():
    """Every registered environment."""
    return list(_envs.names())


def make(name, **kwargs):
    """The environment `name` (see names()) as an Env."""
    return Env(name, **kwargs)


def register_gymnasium():
    """Registers every environment as gymnasium id 'clearsight/<name>' when gymnasium is there."""
    if _gym is None:
        return False
    for n in names():
        env_id = f"clearsight/{n}"
        if env_id not in _gym.registry:
            _gym.register(id=env_id, entry_point=Env, kwargs={"name": n},
                          max_episode_steps=None)
    return True
