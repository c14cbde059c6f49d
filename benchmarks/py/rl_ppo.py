"""Python baseline for bench_rl: PPO training steps (CleanRL ppo_continuous_action structure:
64-64 tanh actor and critic, state-independent log-std, 2048-step rollouts, GAE, 10 epochs of
minibatch 64, observation and reward normalisation, gradient clipping) at Hopper sizes. Debian
ships no MuJoCo Python bindings, so the environment is synthetic (random observations, episodes
of 1000 steps, no physics): the figure is an upper bound on a real Python PPO. Prints seconds
per environment step.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(1)
OBS, ACT, T = 11, 3, 2048


def mlp(i, o):
    return nn.Sequential(nn.Linear(i, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                         nn.Linear(64, o))


class RunningMeanStd:
    def __init__(self, shape):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x):
        bm, bv, bc = x.mean(0), x.var(0), x.shape[0]
        d, tot = bm - self.mean, self.count + bc
        self.mean = self.mean + d * bc / tot
        self.var = (self.var * self.count + bv * bc + d ** 2 * self.count * bc / tot) / tot
        self.count = tot


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    actor, critic = mlp(OBS, ACT), mlp(OBS, 1)
    log_std = nn.Parameter(torch.zeros(ACT))
    params = list(actor.parameters()) + list(critic.parameters()) + [log_std]
    opt = torch.optim.Adam(params, lr=3e-4, eps=1e-5)
    obs_rms, ret_rms = RunningMeanStd(OBS), RunningMeanStd(())
    buf = {k: torch.zeros(T, *s) for k, s in
           dict(obs=(OBS,), act=(ACT,), logp=(), val=(), rew=(), done=()).items()}
    raw, ep_len, disc = rng.standard_normal(OBS), 0, 0.0
    start, done_steps = time.perf_counter(), 0
    while done_steps < steps:
        for t in range(T):
            obs_rms.update(raw[None])
            o = torch.tensor(np.clip((raw - obs_rms.mean) / np.sqrt(obs_rms.var + 1e-8), -10, 10),
                             dtype=torch.float32)
            with torch.no_grad():
                mean, v = actor(o[None])[0], critic(o[None])[0, 0]
                a = mean + log_std.exp() * torch.randn(ACT)
                logp = (-0.5 * ((a - mean) / log_std.exp()) ** 2 - log_std
                        - 0.5 * math.log(2 * math.pi)).sum()
            np.clip(a.numpy(), -1, 1)
            raw, r = rng.standard_normal(OBS), float(rng.standard_normal())
            ep_len += 1
            done = ep_len == 1000
            disc = disc * 0.99 + r
            ret_rms.update(np.array([disc]))
            r = float(np.clip(r / np.sqrt(ret_rms.var + 1e-8), -10, 10))
            if done:
                ep_len, disc = 0, 0.0
            for k, x in zip(buf, (o, a, logp, v, torch.tensor(r), torch.tensor(float(done)))):
                buf[k][t] = x
        with torch.no_grad():
            o = torch.tensor((raw - obs_rms.mean) / np.sqrt(obs_rms.var + 1e-8),
                             dtype=torch.float32)
            last = critic(o[None])[0, 0]
        adv, gae = torch.zeros(T), 0.0
        for t in reversed(range(T)):
            nv = last if t == T - 1 else buf["val"][t + 1]
            nd = 1.0 - buf["done"][t]
            delta = buf["rew"][t] + 0.99 * nv * nd - buf["val"][t]
            gae = delta + 0.99 * 0.95 * nd * gae
            adv[t] = gae
        ret = adv + buf["val"]
        for _ in range(10):
            perm = torch.randperm(T)
            for s in range(0, T, 64):
                idx = perm[s:s + 64]
                o, a = buf["obs"][idx], buf["act"][idx]
                mb_adv = adv[idx]
                mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                mean = actor(o)
                logp = (-0.5 * ((a - mean) / log_std.exp()) ** 2 - log_std
                        - 0.5 * math.log(2 * math.pi)).sum(-1)
                ratio = (logp - buf["logp"][idx]).exp()
                pg = torch.max(-mb_adv * ratio, -mb_adv * ratio.clamp(0.8, 1.2)).mean()
                vl = 0.5 * (critic(o).squeeze(-1) - ret[idx]).pow(2).mean()
                loss = pg + 0.5 * vl
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, 0.5)
                opt.step()
        done_steps += T
    print(f"python_ppo_seconds_per_step {(time.perf_counter() - start) / done_steps:.9f}")


if __name__ == "__main__":
    main()
