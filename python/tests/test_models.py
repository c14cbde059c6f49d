"""Models from Python: hooks, caches, generation and errors."""

import pytest
import torch

import clearsight as cs


def test_version_and_tasks():
    assert cs.__version__.count(".") == 2
    assert "scene_vqa" in cs.task_names()


def test_run_with_cache_filters_and_matches_forward(vl):
    prompt = "What is 2 + 3?"
    logits, cache = vl.run_with_cache(prompt, names=lambda n: n.endswith("mlp.hook_post"))
    layers = vl.config["num_hidden_layers"]
    assert sorted(cache) == sorted(f"blocks.{i}.mlp.hook_post" for i in range(layers))
    post = cache["blocks.0.mlp.hook_post"]
    assert isinstance(post, torch.Tensor)
    assert post.shape[-1] == vl.config["intermediate_size"]
    assert torch.equal(logits, vl.forward(prompt))
    _, one = vl.run_with_cache(prompt, names="blocks.1.hook_resid_post")
    assert list(one) == ["blocks.1.hook_resid_post"]
    assert "blocks.0.mlp.hook_post" in vl.hook_names()


def test_replace_hook_changes_logits_and_observe_hook_does_not(vl):
    sample = cs.task_sample("scene_vqa", "test", 0)
    assert sample["image"].dtype == torch.uint8
    clean = vl.forward(sample)
    seen = []

    def observe(x, name):
        seen.append((name, tuple(x.shape)))

    def zero(x, name):
        return torch.zeros_like(x)

    assert torch.equal(vl.run_with_hooks(sample, [("blocks.0.hook_resid_post", observe)]), clean)
    assert seen and seen[0][0] == "blocks.0.hook_resid_post"
    patched = vl.run_with_hooks(sample, [("blocks.0.mlp.hook_post", zero)])
    assert patched.shape == clean.shape
    assert not torch.allclose(patched, clean)


def test_tensors_are_shared_without_copies(vl):
    params = vl.parameters()
    name = next(n for n in params if n.endswith("embed.weight") or "embed" in n)
    a = params[name]
    b = vl.parameters()[name]
    assert a.data_ptr() == b.data_ptr()


def test_batch_rows_equal_single_prompts(vl):
    prompts = ["What is 2 + 3?", "Name a colour."]
    batch = vl.forward(prompts)
    for i, p in enumerate(prompts):
        one = vl.forward(p)
        n = one.shape[1]
        assert torch.allclose(batch[i, :n], one[0], atol=1e-4)


def test_generate_and_evaluate(vl):
    out = vl.generate(["What is 2 + 3?", cs.task_sample("scene_vqa")], max_new_tokens=4)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    r = vl.evaluate("text_choice", samples=8)
    assert r["samples"] == 8 and 0.0 <= r["score"] <= 1.0
    assert len(r["predictions"]) == 8


def test_audio_sample_roundtrip(audio):
    s = cs.task_sample("speech", "test", 1)
    assert s["audio"].dtype == torch.float32 and s["audio"].dim() == 1
    tokens = audio.tokens(s)
    assert any("audio" in t for t in tokens)


def test_errors_are_typed_with_the_same_messages(vl):
    with pytest.raises(cs.IoError, match="cs-tiny-vx"):
        cs.load_model("cs-tiny-vx")
    with pytest.raises(cs.UnknownNameError):
        cs.task_sample("no_such_task")
    with pytest.raises(cs.ShapeError, match="returned shape"):
        vl.run_with_hooks("hi", [("blocks.0.mlp.hook_post", lambda x, n: x[..., :3])])
    with pytest.raises(cs.ConfigError):
        vl.forward(42)
    assert issubclass(cs.ShapeError, cs.Error)


def test_explain_methods_write_run_folders(vl, tmp_path):
    import os

    ig = cs.explain.attribution(vl, tmp_path / "ig", count=1, steps=8)
    assert os.path.exists(tmp_path / "ig" / "result.json")
    assert ig["method"] in ("ig", "attribution")
    patch = cs.explain.patch(vl, tmp_path / "patch", count=2, components=["resid_pre"])
    assert len(patch["grid"]) == vl.config["num_hidden_layers"]
    lens = cs.explain.logit_lens(vl, tmp_path / "lens")
    assert len(lens["mean_kl"]) >= vl.config["num_hidden_layers"]
    with pytest.raises(cs.UnknownNameError):
        cs.explain.patch(vl, tmp_path / "bad", corrupt="no-such-corruption")


def test_layer_and_intervention_methods_write_run_folders(vl, tmp_path):
    import os

    knock = cs.explain.knockout(vl, tmp_path / "ko", count=2, window=2, edges=["image-last"])
    assert os.path.exists(tmp_path / "ko" / "result.json")
    assert len(knock["windows"]) == vl.config["num_hidden_layers"] - 1
    shap = cs.explain.shapley(vl, tmp_path / "shap", count=1)
    # Efficiency: the values add up to full minus empty.
    assert abs(sum(shap["values"].values()) - (shap["full"] - shap["empty"])) < 1e-6
    steer = cs.explain.steer(vl, tmp_path / "steer", pairs=4, scales=[2.0], eval_samples=4)
    assert {s["scale"] for s in steer["scales"]} == {0.0, 2.0}
    with pytest.raises(cs.Error):
        cs.explain.knockout(vl, tmp_path / "bad-ko", count=1, window=99)
    probe = cs.explain.probe(vl, tmp_path / "probe", train_samples=16, test_samples=8)
    assert len(probe["accuracy"]) == len(probe["layers"]) > 0
    assert all(0.0 <= a <= 1.0 for a in probe["accuracy"])


def test_sae_trains_and_evaluates_a_saelens_folder(vl, tmp_path):
    import os

    trained = cs.sae.train(vl, tmp_path / "sae", features=64, steps=20, eval_samples=4)
    assert os.path.exists(tmp_path / "sae" / "cfg.json")
    assert os.path.exists(tmp_path / "sae" / "sae_weights.safetensors")
    again = cs.sae.evaluate(vl, tmp_path / "sae", eval_samples=4)
    assert again["features"] == 64 and again["hook"] == trained["hook"]
    assert abs(again["mse"] - trained["mse"]) < 1e-4 * max(1.0, trained["mse"])
    with pytest.raises(cs.Error):
        cs.sae.evaluate(vl, tmp_path / "no-such-sae")
