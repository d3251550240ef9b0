"""Write requirements.txt from pyproject.toml, the one place the dependency ranges are kept.

`pyproject.toml` names what an installed customersim needs (`[project] dependencies`) and what
its front ends add (`[project.optional-dependencies]`, such as the Streamlit app). Deployments
and `scripts/setup-venv.sh` install from `requirements.txt`, which therefore lists both: the
core first, then each extra under a comment, with the ranges exactly as pyproject states them.

    python scripts/write_requirements.py          # rewrite requirements.txt
    python scripts/write_requirements.py --check  # exit 1 if it differs from pyproject.toml

`tests/test_requirements.py` runs the check, so a range changed in one file only fails the tests.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
HEADER = (
    "# Runtime dependencies of customersim (the library, the CLI and its front ends).\n"
    "# Written by scripts/write_requirements.py from pyproject.toml: change the ranges there.\n"
)


def pyproject_groups(pyproject: Path) -> dict[str, list[str]]:
    """The requirement strings of pyproject.toml: "" for the core, then one entry per extra.

    Args:
        pyproject: Path of a pyproject.toml with a `[project]` table.

    Returns:
        The core dependencies under the key "" and each optional-dependencies group under its
        name, in the order pyproject gives them.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    groups = {"": list(project.get("dependencies", []))}
    groups.update(project.get("optional-dependencies", {}))
    return groups


def render(groups: dict[str, list[str]]) -> str:
    """The text of requirements.txt for the groups of `pyproject_groups`."""
    lines = [HEADER.rstrip("\n")]
    for extra, requirements in groups.items():
        if extra:
            lines.append(f"# [{extra}] extra")
        lines.extend(requirements)
    return "\n".join(lines) + "\n"


def key(requirement: str) -> tuple[str, str, str]:
    """What makes two requirement lines the same: normalized name, version range and marker."""
    parsed = Requirement(requirement)
    name = parsed.name.lower().replace("_", "-").replace(".", "-")
    return name, str(parsed.specifier), str(parsed.marker or "")


def requirement_lines(text: str) -> list[str]:
    """The requirement lines of a requirements file, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def differences(pyproject: Path, requirements: Path) -> list[str]:
    """One line for each requirement that the two files do not state alike."""
    declared = {key(r): r for group in pyproject_groups(pyproject).values() for r in group}
    listed = {key(r): r for r in requirement_lines(requirements.read_text(encoding="utf-8"))}
    return [f"only in {pyproject.name}: {declared[k]}" for k in sorted(declared.keys() - listed.keys())] + [
        f"only in {requirements.name}: {listed[k]}" for k in sorted(listed.keys() - declared.keys())
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder with pyproject.toml")
    args = parser.parse_args(argv)
    pyproject, requirements = args.root / "pyproject.toml", args.root / "requirements.txt"
    if args.check:
        found = (
            differences(pyproject, requirements) if requirements.exists() else ["requirements.txt is missing"]
        )
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("run python scripts/write_requirements.py", file=sys.stderr)
        return 1 if found else 0
    requirements.write_text(render(pyproject_groups(pyproject)), encoding="utf-8")
    print(f"wrote {requirements.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
