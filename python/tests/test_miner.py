"""MINER's stages from Python: score, merge, select, deactivate, evaluate."""

import torch

import clearsight as cs
from clearsight import miner


def test_stages_end_to_end(vl, tmp_path):
    a = miner.score(vl, "scene_vqa", samples=6, shard="0/2")
    b = miner.score(vl, "scene_vqa", samples=6, shard="1/2")
    merged = miner.merge([a, b])
    assert merged.samples == 6 and merged.dataset == "scene_vqa"
    whole = miner.score(vl, "scene_vqa", samples=6)
    assert torch.allclose(merged.mean(), whole.mean(), atol=1e-9)
    text = miner.score(vl, "text_choice", samples=4)
    path = tmp_path / "scores.safetensors"
    text.save(path)
    assert torch.equal(miner.Scores.load(path).mean(), text.mean())

    sel = miner.select([merged, text], ratio=0.02)
    assert "image" in sel.modalities
    n = int(sel.union_mask().sum())
    assert n > 0
    names = sel.neuron_names("image")
    assert names[0].startswith("blocks.") and "mlp.hook_post[" in names[0]
    sel.save(tmp_path / "sel.safetensors", "cs-tiny-vl")
    again = miner.Selection.load(tmp_path / "sel.safetensors")
    assert torch.equal(again.masks, sel.masks)
    assert int(miner.random_like(sel, 1).union_mask().sum()) == n

    sample = cs.task_sample("scene_vqa")
    clean = vl.forward(sample)
    d = miner.deactivate(vl, sel)
    with d:
        assert d.active
        _, cache = vl.run_with_cache(sample, names="blocks.0.mlp.hook_post")
        off = vl.forward(sample)
    assert not d.active
    mask0 = sel.union_mask()[0]
    assert torch.all(cache["blocks.0.mlp.hook_post"][..., mask0] == 0)
    assert not torch.equal(off, clean)
    assert torch.equal(vl.forward(sample), clean)

    r = miner.evaluate(vl, sel, tasks=["text_choice"], samples=4, random_seeds=1)
    assert set(r["tasks"]) == {"text_choice"}
    assert r["neurons"] == n


def test_bad_names_raise(vl):
    import pytest

    with pytest.raises(cs.UnknownNameError):
        miner.score(vl, "scene_vqa", split="tset", samples=2)
    with pytest.raises(cs.ConfigError):
        miner.score(vl, "scene_vqa", samples=2, shard="5/2")


def test_run_neurons_and_report(vl, tmp_path):
    import os

    out = tmp_path / "run"
    summary = miner.run(vl, out, score_samples=3, eval_samples=3, random_seeds=1)
    assert "scene_vqa" in summary["benchmarks"]
    assert os.path.exists(summary["report"])
    listing = miner.neurons(out)
    assert listing["distinct"] == summary["neurons_selected"]
    assert listing["neurons"][0]["name"].startswith("blocks.")
    assert miner.report(out).endswith("report.html")
