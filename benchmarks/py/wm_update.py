"""Python baseline for bench_wm: one update of ClearSight's pixel world model (Dreamer-style RSSM,
clearsight::wm::update_world_model) written in Debian's python3-torch, and optionally the
behaviour update that WorldModelAgent::update runs after it (--behavior).

A line-by-line port of src/wm/{networks,rssm,world_model,imagination,behavior}.cc with the same
layer shapes, order and parameter names (so the C++ safetensors load with no renaming):
 - encoder: 4 x Conv2d(k4, s2, p1) with ELU, depth d doubling per layer, flattened;
 - decoder: Linear(features -> 8d x S/16 x S/16), then 4 x (Conv3x3 -> 4 x out channels,
   pixel_shuffle(2), ELU except after the last), out channels 4d, 2d, d, 3;
 - RSSM: img_in Linear(stoch + action -> hidden) ELU, GRUCell(hidden, deter), img_out
   Linear(deter -> hidden) ELU, img_dist Linear(hidden -> 2 stoch); obs_out Linear(deter + embed
   -> hidden) ELU, obs_dist Linear(hidden -> 2 stoch); std = softplus + min_std; is_first
   zeroes state and previous action;
 - reward head: MLP features -> hidden -> hidden -> 1 with ELU;
 - loss: 0.5 sum of squares over C, H, W (mean over B, T) + 0.5 mse of rewards + balanced KL
   with free nats on each term; Adam (set-to-none zero_grad), gradient-norm clip;
 - behaviour (--behavior): imagination of horizon H from all B x T posterior states with a
   tanh-Gaussian actor (ELU MLP, layers x hidden), lambda-returns on a slow target critic,
   actor loss through the frozen model's dynamics, critic regression, each with clipped Adam.
Conditions, the categorical z and the continuation head are not ported (bench_wm uses none).

Usage: wm_update.py [--image-size 64] [--cnn-depth 32] [--deter 200] [--stoch 30] [--hidden 200]
                    [--batch 16] [--length 32] [--action-size 6] [--behavior] [--warmup 2]
                    [--repeats 5] [--threads 1] [--dir DIR] [--json PATH]
With --dir, DIR holds what bench_wm wrote: the C++ agent's initial networks
(world_model/actor/critic/target_critic.safetensors), the batch (batch.safetensors),
settings.json (sizes, the torch seed of the parity updates) and cpp_metrics.json (the metrics of
two C++ agent updates from those weights and that seed); the script runs the same two updates
and prints the largest relative difference of each metric. Without --dir it builds freshly
initialised networks and a random batch. Either way it then times updates on that batch.
Times are medians of wall-clock and of process CPU time (the latter is the steadier figure on a
shared machine). Prints "key value" lines (read by bench_wm), then everything as one JSON line
(written to PATH instead with --json).
"""
import os

# Same thread budget as the C++ side (1 torch and 1 BLAS thread); must precede importing torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_load import load_safetensors  # noqa: E402

F = torch.nn.functional
CNN_LAYERS = 4


class Mlp(nn.Module):
    """rl::Mlp: layers fc0, fc1... with the activation between them (none after the last)."""

    def __init__(self, i, o, hidden):
        super().__init__()
        sizes = [i, *hidden, o]
        self.layers = []
        for k in range(len(sizes) - 1):
            layer = nn.Linear(sizes[k], sizes[k + 1])
            self.add_module(f"fc{k}", layer)
            self.layers.append(layer)

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k + 1 < len(self.layers):
                x = F.elu(x)
        return x


class ConvEncoder(nn.Module):
    def __init__(self, image_size, depth):
        super().__init__()
        self.convs = []
        channels = 3
        for i in range(CNN_LAYERS):
            conv = nn.Conv2d(channels, depth << i, 4, stride=2, padding=1)
            self.add_module(f"conv{i}", conv)
            self.convs.append(conv)
            channels = depth << i
        side = image_size >> CNN_LAYERS
        self.embed_size = channels * side * side

    def forward(self, images):
        x = images
        for conv in self.convs:
            x = F.elu(conv(x))
        return x.flatten(1)


class PixelShuffleDecoder(nn.Module):
    def __init__(self, i, image_size, depth):
        super().__init__()
        self.image_size, self.depth = image_size, depth
        side = image_size >> CNN_LAYERS
        self.fc = nn.Linear(i, (depth << (CNN_LAYERS - 1)) * side * side)
        self.convs = []
        for k in range(CNN_LAYERS):
            channels = depth << (CNN_LAYERS - 1 - k)
            out = channels // 2 if k + 1 < CNN_LAYERS else 3
            conv = nn.Conv2d(channels, out * 4, 3, padding=1)
            self.add_module(f"conv{k}", conv)
            self.convs.append(conv)

    def forward(self, features):
        side = self.image_size >> CNN_LAYERS
        x = self.fc(features).view(-1, self.depth << (CNN_LAYERS - 1), side, side)
        for k, conv in enumerate(self.convs):
            x = F.pixel_shuffle(conv(x), 2)
            if k + 1 < len(self.convs):
                x = F.elu(x)
        return x


class State:
    """RssmState of a Gaussian z."""

    __slots__ = ("deter", "stoch", "mean", "std")

    def __init__(self, deter, stoch, mean, std):
        self.deter, self.stoch, self.mean, self.std = deter, stoch, mean, std

    def features(self):
        return torch.cat([self.deter, self.stoch], -1)

    def map(self, f):
        return State(f(self.deter), f(self.stoch), f(self.mean), f(self.std))

    def detach(self):
        return self.map(lambda t: t.detach())

    def flatten_time(self):
        return self.map(lambda t: t.flatten(0, 1))

    @staticmethod
    def stack(steps):
        return State(*(torch.stack([getattr(s, k) for s in steps], 1) for k in State.__slots__))


class Rssm(nn.Module):
    def __init__(self, deter, stoch, hidden, embed, action_size, min_std):
        super().__init__()
        self.deter, self.stoch, self.min_std = deter, stoch, min_std
        self.img_in = nn.Linear(stoch + action_size, hidden)
        self.cell = nn.GRUCell(hidden, deter)
        self.img_out = nn.Linear(deter, hidden)
        self.img_dist = nn.Linear(hidden, 2 * stoch)
        self.obs_out = nn.Linear(deter + embed, hidden)
        self.obs_dist = nn.Linear(hidden, 2 * stoch)

    def initial(self, n):
        return State(torch.zeros(n, self.deter), torch.zeros(n, self.stoch),
                     torch.zeros(n, self.stoch), torch.ones(n, self.stoch))

    def distribution(self, deter, raw, sample):
        mean, std = raw.chunk(2, -1)
        std = F.softplus(std) + self.min_std
        stoch = mean + std * torch.randn_like(std) if sample else mean
        return State(deter, stoch, mean, std)

    def img_step(self, prev, prev_action, sample=True):
        x = F.elu(self.img_in(torch.cat([prev.stoch, prev_action], -1)))
        deter = self.cell(x, prev.deter)
        y = F.elu(self.img_out(deter))
        return self.distribution(deter, self.img_dist(y), sample)

    def obs_step(self, prev, prev_action, embed, sample=True):
        prior = self.img_step(prev, prev_action, sample)
        x = F.elu(self.obs_out(torch.cat([prior.deter, embed], -1)))
        return self.distribution(prior.deter, self.obs_dist(x), sample), prior

    def observe(self, embed, prev_actions, is_first):
        state = self.initial(embed.shape[0])
        keep = (~is_first.bool()).float()
        posts, priors = [], []
        for t in range(embed.shape[1]):
            k = keep[:, t].view(-1, 1)
            state = State(state.deter * k, state.stoch * k, state.mean, state.std)
            post, prior = self.obs_step(state, prev_actions[:, t] * k, embed[:, t])
            state = post
            posts.append(post)
            priors.append(prior)
        return State.stack(posts), State.stack(priors)


def kl_divergence(lhs, rhs):
    var_ratio = (lhs.std / rhs.std).pow(2)
    t1 = ((lhs.mean - rhs.mean) / rhs.std).pow(2)
    return (0.5 * (var_ratio + t1 - 1.0 - var_ratio.log())).sum(-1)


def kl_loss(post, prior, balance, free_nats):
    lhs = kl_divergence(post.detach(), prior).mean()
    rhs = kl_divergence(post, prior.detach()).mean()
    floor = torch.tensor(free_nats, dtype=lhs.dtype)
    return (balance * torch.maximum(lhs, floor) + (1.0 - balance) * torch.maximum(rhs, floor),
            rhs.detach())


def preprocess_frames(frames):
    d = frames.dim()
    return frames.float().div(255.0).sub(0.5).movedim(d - 1, d - 3).contiguous()


class WorldModel(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.encoder = ConvEncoder(a.image_size, a.cnn_depth)
        self.rssm = Rssm(a.deter, a.stoch, a.hidden, self.encoder.embed_size, a.action_size,
                         a.min_std)
        features = a.deter + a.stoch
        self.decoder = PixelShuffleDecoder(features, a.image_size, a.cnn_depth)
        self.reward = Mlp(features, 1, [a.hidden, a.hidden])

    def feature_size(self):
        return self.a.deter + self.a.stoch

    def embed(self, frames):
        b, t = frames.shape[:2]
        return self.encoder(preprocess_frames(frames.flatten(0, 1))).view(b, t, -1)

    def decode(self, features):
        lead = features.shape[:-1]
        out = self.decoder(features.reshape(-1, features.shape[-1]))
        return out.view(*lead, 3, self.a.image_size, self.a.image_size)

    def predict_reward(self, features):
        return self.reward(features).squeeze(-1)

    def losses(self, batch):
        a = self.a
        embedded = self.embed(batch["images"])
        post, prior = self.rssm.observe(embedded, batch["prev_actions"], batch["is_first"])
        features = post.features()
        target = preprocess_frames(batch["images"])
        recon = self.decode(features)
        image = 0.5 * (recon - target).pow(2).sum((-3, -2, -1)).mean()
        reward = 0.5 * (self.predict_reward(features) - batch["rewards"]).pow(2).mean()
        kl_l, kl = kl_loss(post, prior, a.kl_balance, a.free_nats)
        total = a.image_scale * image + a.reward_scale * reward + a.kl_scale * kl_l
        return {"total": total, "image": image, "reward": reward, "kl_loss": kl_l, "kl": kl,
                "posterior": post, "prior": prior}


class ClippedAdam:
    """wm::ClippedAdam: set-to-none zero_grad, backward, clip_grad_norm_, Adam step."""

    def __init__(self, module, lr, eps, clip):
        self.parameters = list(module.parameters())
        self.adam = torch.optim.Adam(self.parameters, lr=lr, eps=eps)
        self.clip = clip

    def step(self, loss):
        self.adam.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(self.parameters, self.clip).item()
        self.adam.step()
        return norm


def entropy_of(s):
    with torch.no_grad():
        return (s.std.log() + 0.5 * math.log(2 * math.pi * math.e)).sum(-1).mean().item()


def update_world_model(model, optimizer, batch):
    """wm::update_world_model: returns (metrics, detached posterior)."""
    l = model.losses(batch)
    if not math.isfinite(l["total"].item()):
        raise RuntimeError("the world-model loss is not finite")
    m = {"grad_norm": optimizer.step(l["total"])}
    m["loss"] = l["total"].item()
    m["image_loss"] = l["image"].item()
    m["reward_loss"] = l["reward"].item()
    m["kl"] = l["kl"].item()
    m["kl_loss"] = l["kl_loss"].item()
    m["prior_entropy"] = entropy_of(l["prior"])
    m["posterior_entropy"] = entropy_of(l["posterior"])
    return m, l["posterior"].detach()


class Actor(nn.Module):
    def __init__(self, features, action_size, a):
        super().__init__()
        self.net = Mlp(features, 2 * action_size, [a.behavior_hidden] * a.behavior_layers)
        self.min_std = a.actor_min_std
        self.raw_init_std = math.log(math.expm1(a.actor_init_std))

    def mean_std(self, features):
        mean, std = self.net(features).chunk(2, -1)
        return 5.0 * torch.tanh(mean / 5.0), F.softplus(std + self.raw_init_std) + self.min_std

    def sample(self, features):
        mean, std = self.mean_std(features)
        eps = torch.randn_like(mean)
        u = mean + std * eps
        action = torch.tanh(u)
        log_normal = (-0.5 * eps.pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_jacobian = (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return action, -(log_normal - log_jacobian)


def imagine(rssm, start, policy, horizon):
    states, actions, entropies = [start], [], []
    state = start
    for _ in range(horizon):
        action, entropy = policy(state.features().detach())
        state = rssm.img_step(state, action)
        states.append(state)
        actions.append(action)
        entropies.append(entropy)
    return State.stack(states), torch.stack(actions, 1), torch.stack(entropies, 1)


def lambda_returns(rewards, next_values, discounts, lam):
    steps = rewards.shape[1]
    out = [None] * steps
    nxt = next_values[:, steps - 1]
    for t in range(steps - 1, -1, -1):
        nxt = rewards[:, t] + discounts[:, t] * ((1.0 - lam) * next_values[:, t] + lam * nxt)
        out[t] = nxt
    return torch.stack(out, 1)


class Behavior:
    def __init__(self, model, a):
        self.model, self.a = model, a
        features = model.feature_size()
        hidden = [a.behavior_hidden] * a.behavior_layers
        self.actor = Actor(features, a.action_size, a)
        self.critic = Mlp(features, 1, hidden)
        self.target = Mlp(features, 1, hidden)
        self.target.load_state_dict(self.critic.state_dict())
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.actor_opt = ClippedAdam(self.actor, a.actor_lr, a.behavior_eps, a.behavior_clip)
        self.critic_opt = ClippedAdam(self.critic, a.critic_lr, a.behavior_eps, a.behavior_clip)
        self.updates = 0

    def update(self, start):
        a, m = self.a, {}
        model_params = list(self.model.parameters())
        for p in model_params:
            p.requires_grad_(False)
        try:
            states, _, entropies = imagine(self.model.rssm, start, self.actor.sample, a.horizon)
            features = states.features()
            nxt = features[:, 1:a.horizon + 1]
            rewards = self.model.predict_reward(nxt)
            values = self.target(nxt).squeeze(-1)
            discounts = torch.full_like(rewards, a.discount)
            returns = lambda_returns(rewards, values, discounts, a.lam)
            weights = torch.cumprod(torch.cat([torch.ones_like(discounts[:, :1]),
                                               discounts[:, :a.horizon - 1] / a.discount], 1),
                                    1).detach()
            actor_loss = (-(weights * returns).mean() -
                          a.actor_entropy * (weights * entropies).mean())
            m["actor_grad_norm"] = self.actor_opt.step(actor_loss)
            m["actor_loss"] = actor_loss.item()
            m["imagined_return"] = returns.detach().mean().item()
            m["imagined_reward"] = rewards.detach().mean().item()
            m["actor_entropy"] = entropies.detach().mean().item()
        finally:
            for p in model_params:
                p.requires_grad_(True)
        value = self.critic(features[:, :a.horizon].detach()).squeeze(-1)
        critic_loss = 0.5 * (weights * (value - returns.detach()).pow(2)).mean()
        m["critic_grad_norm"] = self.critic_opt.step(critic_loss)
        m["critic_loss"] = critic_loss.item()
        m["value"] = value.detach().mean().item()
        self.updates += 1
        if a.slow_target_every <= 1 or self.updates % a.slow_target_every == 0:
            with torch.no_grad():
                for t, s in zip(self.target.parameters(), self.critic.parameters()):
                    t.copy_(s)
        return m


class Agent:
    """wm::WorldModelAgent's networks and update (no conditions)."""

    def __init__(self, a):
        self.model = WorldModel(a)
        self.model_opt = ClippedAdam(self.model, a.lr, a.eps, a.grad_clip)
        self.behavior = Behavior(self.model, a)

    def update(self, batch, train_behavior):
        m, post = update_world_model(self.model, self.model_opt, batch)
        if train_behavior:
            m.update(self.behavior.update(post.flatten_time()))
        return m

    def load(self, directory):
        """Loads the C++ agent's networks (nn::save_parameters names) strictly."""
        for module, name in ((self.model, "world_model"), (self.behavior.actor, "actor"),
                             (self.behavior.critic, "critic"),
                             (self.behavior.target, "target_critic")):
            tensors = load_safetensors(os.path.join(directory, name + ".safetensors"))
            module.load_state_dict(tensors, strict=True)


def count(module):
    return sum(p.numel() for p in module.parameters())


def random_batch(a, seed):
    g = torch.Generator().manual_seed(seed)
    b, t, s = a.batch, a.length, a.image_size
    is_first = torch.zeros(b, t, dtype=torch.bool)
    is_first[:, 0] = True
    return {"images": torch.randint(0, 256, (b, t, s, s, 3), generator=g, dtype=torch.uint8),
            "prev_actions": torch.rand(b, t, a.action_size, generator=g) * 2 - 1,
            "rewards": torch.randn(b, t, generator=g),
            "is_first": is_first}


def median_ms(fn, warmup, repeats):
    """Medians of wall and process CPU milliseconds of repeats calls after warmup ones, and the
    wall times."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return (1e3 * statistics.median(wall), 1e3 * statistics.median(cpu), [1e3 * x for x in wall])


def parity(a, directory, settings):
    """Two agent updates from the C++ weights and torch seed; max relative metric differences."""
    with open(os.path.join(directory, "cpp_metrics.json")) as f:
        cpp = json.load(f)
    agent = Agent(a)
    agent.load(directory)
    batch = load_safetensors(os.path.join(directory, "batch.safetensors"))
    torch.manual_seed(settings["parity_seed"])
    mine = [agent.update(batch, True) for _ in range(len(cpp))]
    worst = {"model": 0.0, "behavior": 0.0}
    table = []
    for step, (theirs, ours) in enumerate(zip(cpp, mine)):
        for key, value in theirs.items():
            if key not in ours:
                continue
            rel = abs(ours[key] - value) / max(abs(value), 1e-6)
            part = "model" if key in ("loss", "image_loss", "reward_loss", "kl", "kl_loss",
                                      "grad_norm", "prior_entropy", "posterior_entropy") \
                else "behavior"
            worst[part] = max(worst[part], rel)
            table.append({"update": step, "metric": key, "cpp": value, "python": ours[key],
                          "rel_diff": rel})
    return worst, table


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add("--image-size", type=int, default=64)
    add("--cnn-depth", type=int, default=32)
    add("--deter", type=int, default=200)
    add("--stoch", type=int, default=30)
    add("--hidden", type=int, default=200)
    add("--min-std", type=float, default=0.1)
    add("--batch", type=int, default=16)
    add("--length", type=int, default=32)
    add("--action-size", type=int, default=6)
    add("--kl-balance", type=float, default=0.8)
    add("--free-nats", type=float, default=3.0)
    add("--kl-scale", type=float, default=1.0)
    add("--image-scale", type=float, default=1.0)
    add("--reward-scale", type=float, default=1.0)
    add("--lr", type=float, default=6e-4)
    add("--eps", type=float, default=1e-5)
    add("--grad-clip", type=float, default=100.0)
    add("--behavior", action="store_true", help="also time model + behaviour updates")
    add("--horizon", type=int, default=15)
    add("--discount", type=float, default=0.99)
    add("--lambda", dest="lam", type=float, default=0.95)
    add("--behavior-hidden", type=int, default=200)
    add("--behavior-layers", type=int, default=3)
    add("--actor-lr", type=float, default=8e-5)
    add("--critic-lr", type=float, default=8e-5)
    add("--behavior-eps", type=float, default=1e-5)
    add("--behavior-clip", type=float, default=100.0)
    add("--actor-entropy", type=float, default=1e-4)
    add("--actor-min-std", type=float, default=1e-4)
    add("--actor-init-std", type=float, default=5.0)
    add("--slow-target-every", type=int, default=100)
    add("--warmup", type=int, default=2)
    add("--repeats", type=int, default=5)
    add("--threads", type=int, default=1)
    add("--seed", type=int, default=0)
    add("--dir", default=None, help="bench_wm's directory (C++ weights, batch, metrics)")
    add("--json", default=None, help="write the JSON result here instead of printing it")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    out = {"threads": torch.get_num_threads(), "torch": torch.__version__,
           "sizes": {k: getattr(a, k) for k in ("image_size", "cnn_depth", "deter", "stoch",
                                                "hidden", "batch", "length", "action_size")},
           "warmup": a.warmup, "repeats": a.repeats, "statistic": "median"}
    if a.dir:
        with open(os.path.join(a.dir, "settings.json")) as f:
            settings = json.load(f)
        worst, table = parity(a, a.dir, settings)
        out["parity_max_rel_diff"] = worst
        out["parity"] = table
        print(f"parity_model_max_rel_diff {worst['model']:.3e}")
        print(f"parity_behavior_max_rel_diff {worst['behavior']:.3e}")
        batch = load_safetensors(os.path.join(a.dir, "batch.safetensors"))
    else:
        batch = random_batch(a, a.seed)

    agent = Agent(a)
    if a.dir:
        agent.load(a.dir)
    out["params"] = {"world_model": count(agent.model), "actor": count(agent.behavior.actor),
                     "critic": count(agent.behavior.critic)}
    print(f"python_params_world_model {out['params']['world_model']}")
    print(f"python_params_actor {out['params']['actor']}")
    print(f"python_params_critic {out['params']['critic']}")

    ms, cpu_ms, all_ms = median_ms(lambda: agent.update(batch, False), a.warmup, a.repeats)
    out["wm_update_ms"], out["wm_update_cpu_ms"], out["wm_update_all_ms"] = ms, cpu_ms, all_ms
    print(f"python_wm_update_ms {ms:.3f}")
    print(f"python_wm_update_cpu_ms {cpu_ms:.3f}")
    if a.behavior:
        ms, cpu_ms, all_ms = median_ms(lambda: agent.update(batch, True), a.warmup, a.repeats)
        out["agent_update_ms"], out["agent_update_cpu_ms"] = ms, cpu_ms
        out["agent_update_all_ms"] = all_ms
        print(f"python_agent_update_ms {ms:.3f}")
        print(f"python_agent_update_cpu_ms {cpu_ms:.3f}")
    if a.json:
        with open(a.json, "w") as f:
            f.write(json.dumps(out, indent=2) + "\n")
    else:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
