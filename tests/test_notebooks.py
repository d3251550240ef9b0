"""The analysis notebooks run top to bottom from a fresh kernel, and are committed clean.

Each notebook is executed with nbclient in a new ``python3`` kernel whose interpreter is the
one running pytest (checked by its own test), from a temporary working directory, so that a
notebook that writes into its folder would not dirty the repository. Any cell error fails the
test. The MQTT settings of the environment are removed from the kernel's environment, so the
streaming notebook uses its mock publisher; a broker test runs it once more against mosquitto,
with MQTT_HOST set, and counts the messages a subscriber receives.

Each notebook's source is a jupytext percent script next to it (``01_quickstart.py`` for
``01_quickstart.ipynb``); the committed ``.ipynb`` must hold the same cells, so that what is
reviewed and linted is what Jupyter opens.
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SOURCES = sorted(NOTEBOOK_DIR.glob("*.py"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_heatmaps_and_journeys.ipynb",
    "03_datasets_and_streaming.ipynb",
    "04_departments.ipynb",
    "05_customers_and_week.ipynb",
]
KERNEL = "python3"
CELL_TIMEOUT = 120  # seconds for one cell: far above what any cell needs
NOTEBOOK_BUDGET = 60  # seconds for a whole notebook, kernel start included


MQTT_VARIABLES = ("TESTING_MOCK_MQTT", "ENTER_TOPIC", "MOVE_TOPIC", "EXIT_TOPIC")


def kernel_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQTT_") and k not in MQTT_VARIABLES}
    env["PYTHONHASHSEED"] = "0"
    env.update(extra)
    return env


def run_notebook(notebook: nbformat.NotebookNode, workdir: Path, **env: str) -> nbformat.NotebookNode:
    """Execute a notebook in a fresh kernel; raises CellExecutionError on a failing cell."""
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name=KERNEL, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=kernel_env(**env))
    return notebook


def printed(notebook: nbformat.NotebookNode) -> str:
    """Everything the code cells printed."""
    return "".join(
        o.get("text", "")
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )


def test_all_notebooks_are_found():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


def test_kernel_runs_the_interpreter_of_the_tests(tmp_path):
    notebook = new_notebook(cells=[new_code_cell("import sys, customersim; print(sys.executable)")])
    run_notebook(notebook, tmp_path)
    printed = notebook.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


def test_a_failing_cell_fails_the_run(tmp_path):
    notebook = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("assert x == 2, 'cell failed'")])
    with pytest.raises(CellExecutionError, match="cell failed"):
        run_notebook(notebook, tmp_path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_from_a_fresh_kernel(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    began = time.perf_counter()
    run_notebook(notebook, tmp_path)
    seconds = time.perf_counter() - began
    print(f"{path.name}: {seconds:.1f} s")
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    assert list(tmp_path.iterdir()) == [], "a notebook wrote files into its working directory"
    assert seconds < NOTEBOOK_BUDGET, f"{path.name} took {seconds:.1f} s (budget {NOTEBOOK_BUDGET} s)"


def unclean_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Ids of code cells that carry outputs or an execution count."""
    return [
        cell.get("id", str(i))
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


def test_unclean_cells_finds_outputs_and_counts():
    notebook = new_notebook(
        cells=[
            new_code_cell("1", id="clean"),
            new_code_cell("2", id="counted"),
            new_code_cell("3", id="output"),
        ]
    )
    notebook.cells[1].execution_count = 4
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="3\n")]
    assert unclean_cells(notebook) == ["counted", "output"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert unclean_cells(notebook) == [], f"{path.name}: clear outputs before committing"
    assert "widgets" not in notebook.metadata


def test_every_notebook_has_its_source_and_every_source_its_notebook():
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]


def cell_differences(source: nbformat.NotebookNode, committed: nbformat.NotebookNode) -> list[str]:
    """Where the committed notebook's cells differ from its source's: one line per difference."""
    differences = []
    if len(source.cells) != len(committed.cells):
        differences.append(f"{len(source.cells)} cells in the source, {len(committed.cells)} committed")
    for index, (want, have) in enumerate(zip(source.cells, committed.cells, strict=False)):
        if (want.cell_type, want.source) != (have.cell_type, have.source):
            first_line = want.source.splitlines()[0] if want.source else ""
            differences.append(f"cell {index} ({want.cell_type}, {first_line!r}) differs")
    if source.metadata.get("kernelspec") != committed.metadata.get("kernelspec"):
        differences.append("kernelspec differs")
    return differences


def test_cell_differences_finds_a_changed_added_or_retyped_cell():
    source = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("x = 1")])
    assert cell_differences(source, source) == []
    changed = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("x = 2")])
    assert cell_differences(source, changed) == ["cell 1 (code, 'x = 1') differs"]
    retyped = new_notebook(cells=[new_markdown_cell("# Title"), new_markdown_cell("x = 1")])
    assert cell_differences(source, retyped) == ["cell 1 (code, 'x = 1') differs"]
    longer = new_notebook(cells=[*source.cells, new_code_cell("y = 2")])
    assert cell_differences(source, longer) == ["2 cells in the source, 3 committed"]


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_matches_its_jupytext_source(path):
    source = jupytext.read(path)
    committed = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    assert cell_differences(source, committed) == [], (
        f"{path.stem}.ipynb is out of date: run jupytext --sync notebooks/*.py and commit both"
    )


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_source_is_a_percent_script(path):
    text = path.read_text(encoding="utf-8")
    assert "# %%" in text and "jupytext_version" not in text
    assert jupytext.formats.guess_format(text, ".py")[0] == "percent"


@pytest.mark.broker
def test_streaming_notebook_publishes_to_a_real_broker(mosquitto, topics, tmp_path):
    from helpers.mqtt_broker import Collector

    collector = Collector(mosquitto.ports["plain"], list(topics.values()))
    try:
        notebook = nbformat.read(NOTEBOOK_DIR / "03_datasets_and_streaming.ipynb", as_version=4)
        run_notebook(
            notebook,
            tmp_path,
            MQTT_HOST="127.0.0.1",
            MQTT_PORT=str(mosquitto.ports["plain"]),
            MQTT_NAME=f"notebook-{uuid.uuid4().hex[:8]}",
            ENTER_TOPIC=topics["enter"],
            MOVE_TOPIC=topics["move"],
            EXIT_TOPIC=topics["exit"],
        )
        text = printed(notebook)
        assert "live" in text and "mock" not in text
        runs = [
            (int(p.replace(",", "")), int(a.replace(",", "")))
            for p, a in re.findall(r"published ([\d,]+) messages, acknowledged ([\d,]+), failed 0", text)
        ]
        assert len(runs) == 2 and all(p == a > 0 for p, a in runs), text
        # The second run replays the first ten minutes of the first: as many messages again,
        # no new ones (QoS 1 may deliver a message twice, so count at least).
        received = collector.wait_for(runs[0][0] + runs[1][0])
        assert len(received) >= runs[0][0] + runs[1][0]
        assert len(set(received)) == runs[0][0]
        assert {topic for topic, _ in received} == set(topics.values())
    finally:
        collector.close()
