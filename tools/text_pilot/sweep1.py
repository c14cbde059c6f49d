import json
A = [[10**9, ["choice", "answer", "locate"]]]
L = [[10**9, ["locate"]]]
base = {"steps": 6000, "eval_every": 1000, "lr": 1e-3}
cfgs = [
 {"name": "choice-1e-3", "schedule": [[10**9, ["choice"]]]},
 {"name": "locate-1e-3", "schedule": L},
 {"name": "locate-3e-3", "schedule": L, "lr": 3e-3},
 {"name": "locate-b96", "schedule": L, "batch": 96},
 {"name": "locate-h8", "schedule": L, "heads": 8, "kv": 4},
 {"name": "locate-after", "schedule": L, "fmt": {"after": True}},
 {"name": "locate-l6", "schedule": L, "layers": 6},
 {"name": "locate-d256", "schedule": L, "d": 256, "heads": 8, "kv": 4, "ff": 1024},
 {"name": "locate-wd0-wu500", "schedule": L, "wd": 0.0, "warmup": 500},
 {"name": "mix-1e-3", "schedule": A},
 {"name": "cur-loc3k-mix", "schedule": [[3000, ["locate"]], [10**9, ["choice", "answer", "locate"]]]},
 {"name": "mix-2loc", "schedule": [[10**9, ["choice", "answer", "locate", "locate"]]]},
 {"name": "choice-b96", "schedule": [[10**9, ["choice"]]], "batch": 96},
 {"name": "locate-parmarks", "schedule": L, "fmt": {"marks": ["(a)", "(b)", "(c)", "(d)"]}},
 {"name": "mix-parmarks", "schedule": A, "fmt": {"marks": ["(a)", "(b)", "(c)", "(d)"]}},
 {"name": "mix-b96-h8", "schedule": A, "batch": 96, "heads": 8, "kv": 4},
]
json.dump([{**base, **c} for c in cfgs], open("sweep1.json", "w"), indent=0)
print(len(cfgs))
