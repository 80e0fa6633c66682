"""tiny-gpt-train's configuration rules (given code: course/week05_gpt/train.py).

A flag overrides the preset, the preset overrides the default, and unknown keys stop the command.
This calls no learner code, so it lives with the tracker's own tests rather than week 05's checks
(where it passed on untouched stubs).
"""

import json

import pytest

from course.week05_gpt import train
from roadmap import ROOT

TINY = ROOT / "configs" / "tiny_test.json"


def test_config_precedence_and_unknown_keys(tmp_path):
    args = train.build_parser().parse_args(["--config", str(TINY), "--n-layer", "3", "--no-bias"])
    cfg = train.resolve_config(args)
    preset = json.loads(TINY.read_text())
    assert cfg.n_layer == 3, "a flag must override the preset"
    assert cfg.n_embd == preset["n_embd"], "the preset must override the default"
    assert cfg.bias is False, "--no-bias must set bias False"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"n_layers": 2}))
    with pytest.raises(SystemExit, match="unknown keys"):
        train.resolve_config(train.build_parser().parse_args(["--config", str(bad)]))
