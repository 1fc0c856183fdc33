"""The root conftest's ordering: long modules first, so `make test`'s two workers start them first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT_CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"


def test_modules_are_collected_longest_first_and_stay_whole(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('thinkj_root_conftest', {str(ROOT_CONFTEST)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "pytest_collection_modifyitems = module.pytest_collection_modifyitems\n"
    )
    (tmp_path / "test_a_quick.py").write_text("def test_one(): pass\ndef test_two(): pass\n")
    (tmp_path / "test_b_minute.py").write_text(
        "import pytest\npytestmark = pytest.mark.slow(seconds=60)\ndef test_one(): pass\ndef test_two(): pass\n")
    # one long test is enough to move its whole module, quick tests included, to the front
    (tmp_path / "test_c_mixed.py").write_text(
        "import pytest\ndef test_quick(): pass\n@pytest.mark.slow(seconds=300)\ndef test_long(): pass\n"
        "@pytest.mark.slow\ndef test_unweighted(): pass\n")
    (tmp_path / "test_d_quick.py").write_text("def test_one(): pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-W", "ignore", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line.split("::")[0] + "::" + line.split("::")[1] for line in result.stdout.splitlines() if "::" in line]
    assert collected == [
        "test_c_mixed.py::test_quick", "test_c_mixed.py::test_long", "test_c_mixed.py::test_unweighted",
        "test_b_minute.py::test_one", "test_b_minute.py::test_two",
        "test_a_quick.py::test_one", "test_a_quick.py::test_two", "test_d_quick.py::test_one",
    ]
