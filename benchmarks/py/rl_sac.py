"""Python baseline for bench_rl: one SAC update (CleanRL-style: two nn.Sequential critics, target
critics, tanh-Gaussian actor, automatic temperature, policy update every 2nd step) at Hopper sizes
(obs 11, act 3), 256-256 networks and batch 256 unless given, sampled from a 20000-transition buffer. Prints
seconds per update.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import copy  # noqa: E402
import sys  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
OBS, ACT, N = 11, 3, 20000
# Optional arguments: hidden sizes ("256,256") and batch size (256).
HIDDEN = [int(h) for h in sys.argv[1].split(",")] if len(sys.argv) > 1 else [256, 256]
B = int(sys.argv[2]) if len(sys.argv) > 2 else 256


def mlp(i, o):
    layers, prev = [], i
    for h in HIDDEN:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    return nn.Sequential(*layers, nn.Linear(prev, o))


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = mlp(OBS, 2 * ACT)

    def sample(self, obs):
        mean, raw = self.net(obs).chunk(2, -1)
        log_std = -5 + 0.5 * 7 * (torch.tanh(raw) + 1)
        eps = torch.randn_like(mean)
        u = mean + log_std.exp() * eps
        logp = (-0.5 * eps.square() - log_std - 0.5 * math.log(2 * math.pi)) - \
            2 * (math.log(2) - u - F.softplus(-2 * u))
        return torch.tanh(u), logp.sum(-1, keepdim=True)


def main():
    torch.manual_seed(0)
    actor, q1, q2 = Actor(), mlp(OBS + ACT, 1), mlp(OBS + ACT, 1)
    q1t, q2t = copy.deepcopy(q1), copy.deepcopy(q2)
    log_alpha = torch.zeros(1, requires_grad=True)
    qopt = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=1e-3)
    aopt = torch.optim.Adam(actor.parameters(), lr=3e-4)
    alopt = torch.optim.Adam([log_alpha], lr=1e-3)
    obs, act = torch.randn(N, OBS), torch.rand(N, ACT) * 2 - 1
    rew, nobs, done = torch.randn(N, 1), torch.randn(N, OBS), torch.zeros(N, 1)

    def update(step):
        idx = torch.randint(0, N, (B,))
        o, a, r, no, d = obs[idx], act[idx], rew[idx], nobs[idx], done[idx]
        alpha = log_alpha.exp().detach()
        with torch.no_grad():
            na, nlogp = actor.sample(no)
            x = torch.cat([no, na], 1)
            target = r + 0.99 * (1 - d) * (torch.min(q1t(x), q2t(x)) - alpha * nlogp)
        x = torch.cat([o, a], 1)
        qloss = F.mse_loss(q1(x), target) + F.mse_loss(q2(x), target)
        qopt.zero_grad()
        qloss.backward()
        qopt.step()
        if step % 2 == 0:
            for _ in range(2):
                pa, logp = actor.sample(o)
                x = torch.cat([o, pa], 1)
                aloss = (alpha * logp - torch.min(q1(x), q2(x))).mean()
                aopt.zero_grad()
                aloss.backward()
                aopt.step()
                alloss = -(log_alpha * (logp.detach() - ACT)).mean()
                alopt.zero_grad()
                alloss.backward()
                alopt.step()
        with torch.no_grad():
            for t, s in zip(list(q1t.parameters()) + list(q2t.parameters()),
                            list(q1.parameters()) + list(q2.parameters())):
                t.lerp_(s, 0.005)

    for i in range(50):
        update(i)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 3.0:
        update(n)
        n += 1
    print(f"python_sac_seconds_per_update {(time.perf_counter() - start) / n:.9f}")


if __name__ == "__main__":
    main()
