# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""docs/python.md's example runs as written."""

import contextlib
import io
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_the_example_in_docs_python_md_runs(monkeypatch):
    with open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(ROOT)  # the example's paths are relative to the repository
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "docs/python.md", "exec"), {})  # pylint: disable=exec-used
    done = re.fullmatch(r"8 requests done at t = (\d+\.\d\d) s\n", out.getvalue())
    assert done and float(done.group(1)) > 0.0  # the requests ran, step by step
