"""docs/python.md runs as written: its python blocks, in order, in one namespace."""

import os
import re


def test_walkthrough_runs(tmp_path, monkeypatch):
    root = os.environ.get("CS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    text = open(os.path.join(root, "docs", "python.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/python.md block {i + 1}", "exec"), namespace)
