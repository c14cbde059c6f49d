import json
A = [[10**9, ["choice", "answer", "locate"]]]
L = [[10**9, ["locate"]]]
H = {"heads": 8, "kv": 4}
base = {"steps": 6000, "eval_every": 1000, "lr": 1e-3}
cfgs = [
 {"name": "locate-h8-s1", "schedule": L, **H, "seed": 1},
 {"name": "locate-h8-s2", "schedule": L, **H, "seed": 2},
 {"name": "locate-h8kv8", "schedule": L, "heads": 8, "kv": 8},
 {"name": "locate-h8kv2", "schedule": L, "heads": 8, "kv": 2},
 {"name": "locate-h4kv4", "schedule": L, "heads": 4, "kv": 4},
 {"name": "mix-b96-h8-s1", "schedule": A, "batch": 96, **H, "seed": 1},
 {"name": "mix-b24-h8", "schedule": A, **H},
 {"name": "mix-b24-h8-2e-3", "schedule": A, **H, "lr": 2e-3},
 {"name": "mix-b96-h8-2e-3", "schedule": A, **H, "batch": 96, "lr": 2e-3},
 {"name": "cur-loc2k-mix-b48-h8", "schedule": [[2000, ["locate"]], [10**9, ["choice", "answer", "locate"]]], "batch": 48, **H},
 {"name": "mix2loc-b48-h8", "schedule": [[10**9, ["choice", "answer", "locate", "locate"]]], "batch": 48, **H},
 {"name": "mix-b48-h8", "schedule": A, "batch": 48, **H},
 {"name": "locate-h16kv8", "schedule": L, "heads": 16, "kv": 8},
 {"name": "mix2choice-b96-h8", "schedule": [[10**9, ["choice", "choice", "answer", "locate"]]], "batch": 96, **H},
 {"name": "mix-b96-h8-s2", "schedule": A, "batch": 96, **H, "seed": 2},
 {"name": "choice-b96-h8", "schedule": [[10**9, ["choice"]]], "batch": 96, **H},
]
json.dump([{**base, **c} for c in cfgs], open("sweep2.json", "w"), indent=0)
