"""requirements.txt states the dependencies of pyproject.toml, with the same ranges.

pyproject.toml is where the ranges are kept; `scripts/write_requirements.py` writes
requirements.txt from it. These tests run its check on the repository and show, on copies in a
temporary folder, that a range changed in one file only, or a package missing from one, fails.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location(
    "write_requirements", ROOT / "scripts" / "write_requirements.py"
)
write_requirements = importlib.util.module_from_spec(spec)
spec.loader.exec_module(write_requirements)


def test_requirements_txt_matches_pyproject(capsys):
    assert write_requirements.main(["--check"]) == 0, capsys.readouterr().err


@pytest.fixture
def copy(tmp_path):
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_range_changed_in_one_file_fails(copy, capsys):
    requirements = copy / "requirements.txt"
    requirements.write_text(requirements.read_text().replace("numpy>=2.0", "numpy>=1.26"))
    assert write_requirements.main(["--check", "--root", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "only in pyproject.toml: numpy>=2.0" in err and "only in requirements.txt: numpy>=1.26" in err


def test_a_package_missing_from_requirements_fails_and_writing_repairs_it(copy, capsys):
    requirements = copy / "requirements.txt"
    requirements.write_text(
        "".join(
            line for line in requirements.read_text().splitlines(True) if not line.startswith("streamlit")
        )
    )
    assert write_requirements.main(["--check", "--root", str(copy)]) == 1
    assert "only in pyproject.toml: streamlit" in capsys.readouterr().err
    assert write_requirements.main(["--root", str(copy)]) == 0
    assert write_requirements.main(["--check", "--root", str(copy)]) == 0


def test_names_are_compared_normalized_and_comments_ignored(copy):
    requirements = copy / "requirements.txt"
    text = requirements.read_text().replace("paho-mqtt>=2.0,<3", "Paho_MQTT <3,>=2.0  # the MQTT client")
    requirements.write_text(text + "\n# a closing comment\n")
    assert write_requirements.differences(copy / "pyproject.toml", requirements) == []
