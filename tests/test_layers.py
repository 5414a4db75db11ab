"""The layers hold without import cycles: each module imports on its own, whatever comes first.

`make lint` checks the layering itself (lint-imports, the contract in pyproject.toml); this
guards the symptom a cycle hidden behind `if TYPE_CHECKING:` used to cause.
"""

import subprocess
import sys

import pytest

FIRST_IMPORTS = [
    "webhook.engine",
    "webhook.policy",
    "webhook.rules",
    "webhook.rules.registry",
    "webhook.rules.workloads",
    "webhook.istio.mesh",
    "webhook.inventory",
]


@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_a_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
