"""Every bad input a user can type gets one line naming it: never a traceback, never a hang.

Each case runs the real command line in a process of its own, as a user would, and checks what
reaches the user: a nonzero exit status, exactly one printable line on stderr that names the
bad value, no traceback in any output, and nothing published (the MQTT commands run in mock
mode, where each message would be a log line).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

EVENTS_HEADER = "ts,event,customer_id,x,y,visit\n"
ENTER = "1767571200,enter,1,0,0,0\n"
EXIT = "1767571260,exit,1,0,0,0\n"


def _parquet_list() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"customer_id": ["1", "2"]}).to_parquet(buffer)
    return buffer.getvalue()


# name -> file content (bytes or text); "dir" makes a folder, "fifo" a named pipe.
FILES: dict[str, str | bytes] = {
    "good.csv": EVENTS_HEADER + ENTER + EXIT,
    "x65536.csv": EVENTS_HEADER + ENTER + "1767571210,move,1,65536,0,0\n" + EXIT,
    "fraction.csv": EVENTS_HEADER + ENTER + "1767571213.9,move,1,1,0,0\n" + EXIT,
    "negative.csv": EVENTS_HEADER + "-5,enter,1,0,0,0\n-4,exit,1,0,0,0\n",
    "empty-id.csv": EVENTS_HEADER + "1767571200,enter,,0,0,0\n",
    "jump.csv": EVENTS_HEADER + ENTER + "1767571210,jump,1,1,0,0\n" + EXIT,
    "codes.csv": EVENTS_HEADER + "1767571200,0,1,0,0,0\n1767571260,2,1,0,0,0\n",
    "no-y.csv": "ts,event,customer_id,x\n1767571200,enter,1,0\n",
    "abc.csv": "a,b,c\n1,2,3\n",
    "junk.csv": b"ts,event,customer_id,x,y\n" + bytes(range(256)) * 20,
    "folder.csv": "dir",
    "pipe.csv": "fifo",
    "latin1.csv": "customer_id,name\n1,José\n".encode("latin-1"),
    "utf16.csv": "customer_id,name\n1,Ada\n".encode("utf-16"),
    "binary.csv": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8,
    "list.parquet": _parquet_list(),
    "junk-header.csv": "\x1b[2J\x0bname\r" * 30 + ",x\n1,2\n",
    "folder": "dir",
    "pipe": "fifo",
    "taken.csv": "dir",
}

# (command line, words the one line must hold); {tmp} is the folder of FILES.
CASES: list[tuple[str, str]] = [
    # Flags checked when the command line is read.
    ("publish --hours 1 --chunk-rows 0", "--chunk-rows must be a whole number >= 1, got 0"),
    ("publish --hours 1 --chunk-rows -3", "--chunk-rows must be a whole number >= 1, got -3"),
    ("run --chunk-rows 0", "--chunk-rows must be a whole number >= 1, got 0"),
    ("run --give-up-after 0", "--give-up-after: 0 is not allowed"),
    ("run --give-up-after -5", "--give-up-after: -5 is not allowed"),
    ("publish --hours 1 --give-up-after nan", "--give-up-after: nan is not allowed"),
    ("publish --hours 1 --give-up-after soon", "--give-up-after: 'soon' is not allowed"),
    ("publish --qos 5", "qos (MQTT_QOS) = '5' is not allowed"),
    ("generate --out {tmp}/x.csv --workers 0", "--workers must be a whole number >= 1, got 0"),
    # Extra payload fields, checked before the first message.
    ("publish --hours 1 --extra-fields nosuchcol", "--extra-fields 'nosuchcol' is not allowed"),
    ("publish --in {tmp}/good.csv --extra-fields visit,dep", "--extra-fields 'dep' is not allowed"),
    # Events files that do not fit the contract, replayed or validated.
    ("publish --in {tmp}/x65536.csv", "x65536.csv, line 3, column x: 65536 is not allowed"),
    ("validate {tmp}/x65536.csv", "x65536.csv, line 3, column x: 65536 is not allowed"),
    ("publish --in {tmp}/fraction.csv", "line 3, column ts: 1767571213.9 is not allowed"),
    ("validate {tmp}/fraction.csv", "line 3, column ts: 1767571213.9 is not allowed"),
    ("validate {tmp}/negative.csv", "line 2, column ts: -5 is not allowed"),
    ("report {tmp}/negative.csv --out {tmp}/r.html", "line 2, column ts: -5 is not allowed"),
    ("publish --in {tmp}/empty-id.csv", "line 2, column customer_id: '' is not allowed"),
    ("publish --in {tmp}/jump.csv", "line 3, column event: 'jump' is not allowed"),
    ("publish --in {tmp}/codes.csv", "line 2, column event: '0' is not allowed"),
    ("publish --in {tmp}/no-y.csv", "no-y.csv: missing column(s) y"),
    ("publish --in {tmp}/abc.csv", "abc.csv: missing column(s) ts, event, customer_id, x, y"),
    ("validate {tmp}/junk.csv", "junk.csv: cannot read events: line 2: CSV parse error"),
    ("publish --in {tmp}/folder.csv", "folder.csv: is a directory"),
    ("validate {tmp}/pipe.csv", "pipe.csv: is not a regular file"),
    # Customer lists that are not UTF-8 CSV text, or not files at all.
    ("generate --out {tmp}/x.csv --customers {tmp}/latin1.csv", "latin1.csv, line 2: not UTF-8 text"),
    ("generate --out {tmp}/x.csv --customers {tmp}/utf16.csv", "utf16.csv: is UTF-16 text"),
    ("generate --out {tmp}/x.csv --customers {tmp}/binary.csv", "binary.csv: is a binary file"),
    ("publish --hours 1 --customers {tmp}/list.parquet", "list.parquet: is a Parquet file"),
    ("run --customers {tmp}/folder", "folder: is a directory"),
    ("generate --out {tmp}/x.csv --customers {tmp}/pipe", "pipe: is not a regular file"),
    ("generate --out {tmp}/x.csv --customers {tmp}/junk-header.csv", "line 1: no customer_id column"),
    # Output that cannot be written.
    ("generate --hours 1 --out {tmp}/taken.csv", "cannot write"),
    # Hand-made events.
    ("send enter --id=", "customer_id = '' is not allowed"),
    ("send move --id 1 --x 6 --y 0 --width 6", "x = 6 is not allowed: expected a whole number from 0 to 5"),
    ("send move --id 1 --x -1 --y 0", "x = -1 is not allowed"),
    ("send enter --id 1 --ts -5", "ts = -5 is not allowed"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-input")
    for name, content in FILES.items():
        path = folder / name
        if content == "dir":
            path.mkdir()
        elif content == "fifo":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def _run(command: str, folder: Path) -> subprocess.CompletedProcess:
    args = [arg.replace("{tmp}", str(folder)) for arg in command.split()]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MQTT_", "STORE_", "CUSTOMERS_"))},
        "PYTHONPATH": os.pathsep.join(sys.path),
        "TESTING_MOCK_MQTT": "true",
        "LOG_FILENAME": os.devnull,
    }
    try:
        return subprocess.run(
            [sys.executable, "-m", "customersim", *args],
            env=env,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:  # reading a FIFO waits for a writer forever
        return subprocess.CompletedProcess(args, 0, "", "(no answer within 60 s)\n")


@pytest.fixture(scope="module")
def outcomes(files) -> dict[str, subprocess.CompletedProcess]:
    """Every case run once, a few at a time (most of each run is starting Python)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda case: _run(case[0], files), CASES)
        return {command: result for (command, _), result in zip(CASES, results, strict=True)}


@pytest.mark.parametrize(("command", "words"), CASES, ids=[command for command, _ in CASES])
def test_bad_input_is_one_line_naming_it(files, outcomes, command, words):
    result = outcomes[command]
    print(f"$ customersim {command}\nexit {result.returncode}\n{result.stdout}{result.stderr}")  # for -rP
    err = result.stderr
    assert result.returncode != 0, err
    assert "Traceback" not in result.stdout + err
    assert err.endswith("\n") and err.count("\n") == 1 and err[:-1].isprintable(), err
    assert words.replace("{tmp}", str(files)) in err, err
    assert "customer/" not in result.stdout + err  # nothing was published, not even one message
    assert not (files / "x.csv").exists()
