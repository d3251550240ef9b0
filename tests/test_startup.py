"""Start-up stays light: ``--help`` and ``send`` load none of the data stack.

Checked in a fresh interpreter (a subprocess), because this test session has long imported
pandas and the rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "polars", "paho")

_PROBE = """
import contextlib, io, json, sys
from customersim.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:], environ=json.loads(ENV))
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _loaded_after(argv: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.replace("ENV", repr(json.dumps(env))), *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["code"], set(answer["loaded"])


@pytest.mark.parametrize(
    "argv", [["--help"], ["generate", "--help"], ["publish", "--help"], ["run", "--help"]]
)
def test_help_loads_no_heavy_module(argv) -> None:
    code, loaded = _loaded_after(argv, {})
    assert code == 0 and not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_python_m_customersim_help_loads_no_heavy_module() -> None:
    probe = (
        "import json, runpy, sys; sys.argv = ['customersim', '--help']\n"
        "try:\n    runpy.run_module('customersim', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "customersim" in loaded and not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_send_in_mock_mode_loads_no_heavy_module() -> None:
    code, loaded = _loaded_after(
        ["send", "move", "--id", "9", "--x", "1", "--y", "2"], {"TESTING_MOCK_MQTT": "true"}
    )
    assert code == 0 and not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.broker
def test_send_to_a_broker_loads_paho_only(mosquitto) -> None:
    env = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(mosquitto.ports["plain"])}
    code, loaded = _loaded_after(["send", "enter", "--id", "9"], env)
    assert code == 0 and "paho" in loaded
    assert not loaded & {"pandas", "numpy", "pyarrow", "polars"}, sorted(loaded)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_generate_writes_a_file_without_pandas(tmp_path, suffix) -> None:
    # The engine's arrays go to the file through Arrow buffers: pandas is start-up time only.
    out = tmp_path / f"events{suffix}"
    code, loaded = _loaded_after(
        ["generate", "--hours", "1", "--seed", "2", "--out", str(out), "--quiet"], {}
    )
    assert code == 0 and out.stat().st_size > 0
    assert "pandas" not in loaded and {"numpy", "pyarrow"} <= loaded, sorted(loaded)
