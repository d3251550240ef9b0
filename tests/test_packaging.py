"""The package installs whole: every folder of modules is a regular package."""

from pathlib import Path

import customersim

PACKAGE = Path(customersim.__file__).parent


def test_every_module_folder_has_an_init():
    # setuptools' find_packages skips folders without __init__.py: a wheel would lack them.
    folders = {path.parent for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts}
    assert sorted(str(f.relative_to(PACKAGE)) for f in folders if not (f / "__init__.py").exists()) == []


def test_core_import_does_not_pull_in_front_end_libraries():
    import subprocess
    import sys

    code = (
        "import sys, customersim; "
        "print(sorted(m for m in ('streamlit', 'plotly', 'paho') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_shipped_layouts_and_segments_are_package_data():
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["customersim"]
    shipped = sorted(
        p.relative_to(PACKAGE).as_posix()
        for folder in ("layouts", "segments_data")
        for p in (PACKAGE / folder).glob("*.toml")
    )
    assert shipped == ["layouts/fashion.toml", "layouts/supermarket.toml", "segments_data/default.toml"]
    assert all(any(Path(name).match(pattern) for pattern in patterns) for name in shipped)
