"""File sinks: round trips, byte-identical output for any chunking and any number of workers."""

import os
import re
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from customersim import SimConfig, files, simulate, simulate_chunks
from customersim.files import EventsWriter, read_events, table_from_columns, write_events
from customersim.frame import FrameValueError, normalize_frame
from customersim.simulation import simulate_blocks

CONFIG = SimConfig(customers_average_in_store=20, hours=36, seed=12)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_keeps_rows_and_dtypes(tmp_path, suffix):
    frame = simulate(CONFIG)
    path = tmp_path / f"events{suffix}"
    assert write_events(frame, path) == len(frame)
    back = read_events(path)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_csv_is_plain_with_a_header(tmp_path):
    frame = simulate(SimConfig(hours=1, seed=1))
    path = tmp_path / "e.csv"
    write_events(frame, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "ts,event,customer_id,x,y,visit,dep"
    first = frame.iloc[0]
    # The open store has no departments: dep is empty.
    assert lines[1] == f"{first.ts},{first.event},{first.customer_id},{first.x},{first.y},{first.visit},"
    assert len(lines) == len(frame) + 1


def test_ids_stay_text(tmp_path):
    ids = [f"00{i}" for i in range(40)]
    frame = simulate(SimConfig(hours=2, seed=1), customers=ids)
    write_events(frame, tmp_path / "e.csv")
    assert set(read_events(tmp_path / "e.csv")["customer_id"]) <= set(ids)


def _write_chunked(path, chunk_rows=None, workers=1, config=CONFIG):
    if chunk_rows is None:  # the engine's own blocks, as the CLI writes them
        ids, blocks = simulate_blocks(config, workers=workers)
        with EventsWriter(path) as writer:
            for block in blocks:
                writer.write_table(table_from_columns(block, ids, config.floorplan.departments))
    else:
        write_events(simulate_chunks(config, chunk_rows=chunk_rows), path)
    return path.read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_are_byte_identical_for_any_chunking_and_workers(tmp_path, suffix, monkeypatch):
    monkeypatch.setattr(files, "PARQUET_ROW_GROUP", 5_000)  # several row groups
    monkeypatch.setattr(files, "CSV_BATCH", 3_000)  # several batches
    whole = tmp_path / f"whole{suffix}"
    write_events(simulate(CONFIG), whole)
    reference = whole.read_bytes()
    for name, kwargs in {
        "blocks": {},
        "1000": {"chunk_rows": 1000},
        "777": {"chunk_rows": 777},
        "workers2": {"workers": 2},
        "workers3": {"workers": 3},
    }.items():
        assert _write_chunked(tmp_path / f"{name}{suffix}", **kwargs) == reference, name
    if suffix == ".parquet":
        assert pq.ParquetFile(whole).metadata.num_row_groups > 3


def test_other_seed_gives_another_file(tmp_path):
    one = _write_chunked(tmp_path / "a.csv")
    other = _write_chunked(tmp_path / "b.csv", config=CONFIG.replace(seed=13))
    assert one != other


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "broken.parquet"

    def frames():
        yield simulate(SimConfig(hours=1))
        raise RuntimeError("simulation failed")

    with pytest.raises(RuntimeError):
        write_events(frames(), path)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_empty_stream_still_writes_a_readable_file(tmp_path):
    path = tmp_path / "empty.csv"
    write_events([], path)
    assert path.read_text() == "ts,event,customer_id,x,y,visit,dep\n"
    assert read_events(path).empty


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown file type '.json': use .csv or .parquet"):
        write_events(simulate(SimConfig(hours=1)), tmp_path / "e.json")


def test_broken_csv_is_reported_with_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ts,event,customer_id,x,y\n1,enter,1,0,0\nnot-a-number,move,1,1,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv"):
        read_events(path)


def test_worker_frames_equal_single_process():
    pd.testing.assert_frame_equal(simulate(CONFIG, workers=2), simulate(CONFIG), check_exact=True)
    assert np.array_equal(simulate(CONFIG)["ts"], simulate(CONFIG, workers=3)["ts"])


def test_ids_with_commas_and_quotes_are_quoted_in_csv(tmp_path):
    ids = ["plain", "with,comma", 'with "quote"'] + [f"c{i}" for i in range(30)]
    config = SimConfig(hours=6, seed=2)
    frame = simulate(config, customers=ids)
    assert set(frame["customer_id"]) & {"with,comma", 'with "quote"'}
    path = tmp_path / "e.csv"
    ids_array, blocks = simulate_blocks(config, customers=ids)
    with EventsWriter(path) as writer:
        for block in blocks:
            writer.write_table(table_from_columns(block, ids_array))
    assert '"with,comma"' in path.read_text()
    pd.testing.assert_frame_equal(read_events(path), frame, check_exact=True)


def test_broken_csv_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ts,event,customer_id,x,y\n1,enter,1,0,0\n2,move,1,1,1\n3,move,1,1,half\n")
    with pytest.raises(
        ValueError, match=r"bad.csv, line 4, column y: 'half' is not allowed: expected a whole"
    ):
        read_events(path)


HEADER = "ts,event,customer_id,x,y,visit\n"
ENTER = "1767571200,enter,1,0,0,0\n"


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        # 16 bits would wrap 65536 to 0, and a fraction would be cut: refused, never made to fit.
        (
            ENTER + "1767571210,move,1,65536,0,0\n",
            "line 3, column x: 65536 is not allowed: expected a whole number from 0 to 32767",
        ),
        (ENTER + "1767571210,move,1,1,-1,0\n", "line 3, column y: -1 is not allowed"),
        (
            ENTER + "1767571213.9,move,1,1,0,0\n",
            "line 3, column ts: 1767571213.9 is not allowed: expected a whole number from 0",
        ),
        (
            "-5,enter,1,0,0,0\n-4,exit,1,0,0,0\n",
            "line 2, column ts: -5 is not allowed: expected a whole number from 0 to 9007199254740992 "
            "(1 more row like it)",
        ),
        (
            ENTER + "1767571210,move,,1,0,0\n",
            "line 3, column customer_id: '' is not allowed: expected a non-blank id",
        ),
        (ENTER + "1767571210,move,  ,1,0,0\n", "line 3, column customer_id: '  ' is not allowed"),
        (
            ENTER + "1767571210,jump,1,1,0,0\n",
            "line 3, column event: 'jump' is not allowed: expected one of enter, move, exit, focus",
        ),
        ("1767571200,0,1,0,0,0\n", "line 2, column event: '0' is not allowed"),
        (ENTER + ",move,1,1,0,0\n", "line 3, column ts: a missing value is not allowed"),
        (ENTER + "1767571210,move,1,1,0,0.5\n", "line 3, column visit: 0.5 is not allowed"),
    ],
)
def test_reading_refuses_values_outside_the_contract(tmp_path, rows, words):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(ValueError) as caught:
        read_events(path)
    assert str(caught.value).startswith(f"{path}, {words}"), caught.value


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("ts,event,x,y\n1,enter,0,0\n", "missing column(s) customer_id"),
        ("ts,event,customer_id,x\n1,enter,1,0\n", "missing column(s) y"),
        (
            "a,b,c\n1,2,3\n",
            "missing column(s) ts, event, customer_id, x, y: expected the columns ts, event, "
            "customer_id, x, y (found 'a', 'b', 'c')",
        ),
    ],
)
def test_reading_names_missing_columns(tmp_path, header, words):
    path = tmp_path / "bad.csv"
    path.write_text(header)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {words}")):
        read_events(path)


def _parquet(path, **columns):
    base = {
        "ts": np.array([1767571200, 1767571210, 1767571220], dtype=np.int64),
        "event": ["enter", "move", "exit"],
        "customer_id": ["1", "1", "1"],
        "x": np.array([0, 1, 0], dtype=np.int16),
        "y": np.array([0, 0, 0], dtype=np.int16),
    }
    pd.DataFrame({**base, **columns}).to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        ({"ts": [1767571200.0, 1767571213.9, 1767571220.0]}, "row 1, column ts: 1767571213.9 is not allowed"),
        ({"x": np.array([0, 65536, 0], dtype=np.int32)}, "row 1, column x: 65536 is not allowed"),
        ({"ts": np.array([-1, 0, 1], dtype=np.int64)}, "row 0, column ts: -1 is not allowed"),
        (
            {"event": np.array([0, 1, 2], dtype=np.int8)},
            "row 0, column event: 0 is not allowed: expected one of",
        ),
        ({"customer_id": ["1", None, "1"]}, "row 1, column customer_id: a missing value is not allowed"),
        ({"customer_id": ["1", "", "1"]}, "row 1, column customer_id: '' is not allowed"),
    ],
)
def test_reading_parquet_refuses_values_outside_the_contract(tmp_path, columns, words):
    path = _parquet(tmp_path / "bad.parquet", **columns)
    with pytest.raises(ValueError) as caught:
        read_events(path)
    assert str(caught.value).startswith(f"{path}, {words}")


def test_whole_numbers_in_a_float_column_are_read_exactly(tmp_path):
    path = _parquet(tmp_path / "floats.parquet", ts=[1767571200.0, 1767571210.0, 1767571220.0])
    frame = read_events(path)
    assert frame["ts"].dtype == "int64" and frame["ts"].tolist() == [1767571200, 1767571210, 1767571220]


def test_normalize_frame_never_wraps_or_cuts():
    with pytest.raises(
        FrameValueError, match=r"row 1, column 'x'.*65536 is not a whole number from -32768 to 32767"
    ):
        normalize_frame(pd.DataFrame({"x": [1, 65536]}))
    with pytest.raises(FrameValueError, match=r"row 0, column 'ts'.*1.5 is not a whole number"):
        normalize_frame(pd.DataFrame({"ts": [1.5, 2.0]}))
    assert normalize_frame(pd.DataFrame({"ts": [1.0, 2.0]}))["ts"].tolist() == [1, 2]


def test_a_folder_or_a_pipe_is_not_an_events_file(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ValueError, match=r"folder\.csv: is a directory"):
        read_events(tmp_path / "folder.csv")
    os.mkfifo(tmp_path / "pipe.csv")  # reading it would wait for a writer forever
    with pytest.raises(ValueError, match=r"pipe\.csv: is not a regular file"):
        read_events(tmp_path / "pipe.csv")


def test_binary_junk_is_quoted_short_and_printable(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"ts,event,customer_id,x,y\n1,enter,1,0,0\n\x00\xff\r\x1b[2J\x0b\x0c\x85" * 40)
    with pytest.raises(ValueError) as caught:
        read_events(path)
    message = str(caught.value)
    assert message.isprintable() and len(message) < len(str(path)) + 200, message
    assert "cannot read events: line 3: CSV parse error" in message


# Writing: the file appears whole under its name or not at all, and no temporary file stays.

GENERATE = [sys.executable, "-m", "customersim", "generate", "--quiet", "--average-inside", "50"]


def _generate(out, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [*GENERATE, "--out", str(out), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _reference(path, config):
    ids, blocks = simulate_blocks(config)
    with EventsWriter(path) as writer:
        for block in blocks:
            writer.write_table(table_from_columns(block, ids))
    return path.read_bytes()


def _wait_for_temporary_file(folder, process, deadline=60.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end and process.poll() is None:
        if list(folder.iterdir()):
            return
        time.sleep(0.01)  # polling for the file to appear, with a deadline
    raise AssertionError(f"no temporary file appeared; exit status {process.poll()}")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_two_runs_into_one_file_never_mix(tmp_path, suffix):
    refs = tmp_path / "refs"
    refs.mkdir()
    hours = 200  # a few blocks of simulated time: the first run is still writing after its first
    configs = {seed: SimConfig(customers_average_in_store=50, hours=hours, seed=seed) for seed in (1, 2)}
    expected = {seed: _reference(refs / f"{seed}{suffix}", config) for seed, config in configs.items()}
    target = tmp_path / "out"
    target.mkdir()
    out = target / f"week{suffix}"
    # The worst interleaving, made certain: the first run is frozen halfway through its file while
    # the second writes the whole of its own and renames it; then the first goes on and finishes.
    first = _generate(out, "--hours", str(hours), "--seed", "1")
    try:
        _wait_for_temporary_file(target, first)
        first.send_signal(signal.SIGSTOP)
        assert first.poll() is None, "the first run ended before it could be paused halfway"
        second = _generate(out, "--hours", str(hours), "--seed", "2")
        second_result = (second.wait(timeout=300), *second.communicate())
        assert second_result[0] == 0 and out.read_bytes() == expected[2], second_result
    finally:
        first.send_signal(signal.SIGCONT)
    code, _, err = first.wait(timeout=300), *first.communicate()
    # The first run also writes a whole file, which replaces the second's (the last rename wins),
    # or fails in one clean line and leaves the second's file alone; never a mix of both.
    assert out.read_bytes() == (expected[1] if code == 0 else expected[2]), err
    assert code == 0 or (err.count("\n") == 1 and "Traceback" not in err), err
    assert [p.name for p in target.iterdir()] == [out.name]  # no temporary file left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_signal_during_a_long_generate_leaves_no_file(tmp_path, signum, suffix):
    out = tmp_path / f"years{suffix}"
    run = _generate(out, "--hours", "80000")  # minutes of work: it is stopped long before
    try:
        _wait_for_temporary_file(tmp_path, run)
        run.send_signal(signum)
        code = run.wait(timeout=60)
    finally:
        run.kill()
    _, err = run.communicate()
    assert code == 128 + signum and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, capsys):
    from customersim.cli import main

    (tmp_path / "taken.csv").mkdir()  # the rename onto a folder fails at the very end
    with pytest.raises(IsADirectoryError):
        write_events(simulate(SimConfig(hours=1)), tmp_path / "taken.csv")
    assert main(["generate", "--hours", "1", "--out", str(tmp_path / "taken.csv")], environ={}) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"customersim generate: cannot write {tmp_path / 'taken.csv'}: ")
        and err.count("\n") == 1
    )
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"] and not list(
        (tmp_path / "taken.csv").iterdir()
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_full_disk_leaves_no_temporary_file(tmp_path, suffix):
    # A file size limit makes writes fail as a full disk does; Parquet fails in its final flush.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    limit = 100_000
    result = subprocess.run(
        [*GENERATE, "--hours", "24", "--out", str(tmp_path / f"day{suffix}")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
        check=False,
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"cannot write {tmp_path / f'day{suffix}'}" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_written_file_has_the_usual_permissions(tmp_path):
    mask = os.umask(0o027)
    try:
        write_events(simulate(SimConfig(hours=1)), tmp_path / "e.csv")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "e.csv").stat().st_mode) == 0o640


def test_parquet_pages_do_not_depend_on_how_the_rows_came(tmp_path, monkeypatch):
    # Small pages and a small dictionary limit: every row group has many pages and some columns
    # give up their dictionary part way, where the writer's input chunks could show through.
    monkeypatch.setattr(files, "PARQUET_ROW_GROUP", 5_000)
    monkeypatch.setattr(
        files,
        "PARQUET_OPTIONS",
        {**files.PARQUET_OPTIONS, "data_page_size": 2_000, "dictionary_pagesize_limit": 600},
    )
    whole = tmp_path / "whole.parquet"
    write_events(simulate(CONFIG), whole)
    pages = pq.ParquetFile(whole).metadata.row_group(0).column(0)
    assert pages.total_uncompressed_size > 10 * 2_000
    for name, kwargs in {"blocks": {}, "777": {"chunk_rows": 777}, "workers2": {"workers": 2}}.items():
        assert _write_chunked(tmp_path / f"{name}.parquet", **kwargs) == whole.read_bytes(), name


FASHION = SimConfig(layout="fashion", customers_average_in_store=15, hours=30, seed=5)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_departments_and_focus_events_are_written_byte_identically(tmp_path, suffix, monkeypatch):
    monkeypatch.setattr(files, "PARQUET_ROW_GROUP", 5_000)
    frame = simulate(FASHION)
    assert (frame["event"] == "focus").sum() > 100
    whole = tmp_path / f"whole{suffix}"
    write_events(frame, whole)
    for name, kwargs in {"blocks": {}, "777": {"chunk_rows": 777}, "workers2": {"workers": 2}}.items():
        assert _write_chunked(tmp_path / f"{name}{suffix}", config=FASHION, **kwargs) == whole.read_bytes()
    back = read_events(whole)
    focus = back[back["event"] == "focus"]
    assert set(focus["dep"]) <= {"Women", "Men", "Boys", "Girls", "Sports"}
    if suffix == ".parquet":  # Parquet keeps the layout's order of departments
        pd.testing.assert_frame_equal(back, frame, check_exact=True)
    else:
        assert back["dep"].astype("object").equals(frame["dep"].astype("object"))
        assert back.drop(columns="dep").equals(frame.drop(columns="dep"))


def test_department_names_with_commas_are_quoted_in_csv(tmp_path):
    shipped = Path(files.__file__).parent / "layouts" / "fashion.toml"
    layout = tmp_path / "shop.toml"
    layout.write_text(shipped.read_text().replace('"Women"', '"Women, shoes"'))
    config = FASHION.replace(layout=str(layout), hours=12)
    whole = tmp_path / "whole.csv"
    write_events(simulate(config), whole)
    assert '"Women, shoes"' in whole.read_text()
    assert _write_chunked(tmp_path / "blocks.csv", config=config) == whole.read_bytes()
    back = read_events(whole)
    assert "Women, shoes" in set(back["dep"].dropna())


def test_parquet_columns_are_required_but_dep(tmp_path):
    path = tmp_path / "e.parquet"
    _write_chunked(path, config=FASHION.replace(hours=2))
    schema = pq.read_schema(path)
    assert [name for name in schema.names if schema.field(name).nullable] == ["dep"]
    assert str(schema.field("customer_id").type) == "large_string"


def test_a_frame_with_a_missing_id_is_refused_in_parquet(tmp_path):
    frame = simulate(SimConfig(hours=1, seed=1))
    frame["customer_id"] = frame["customer_id"].astype(object)
    frame.loc[3, "customer_id"] = None
    with pytest.raises(ValueError, match="customer_id"):
        write_events(frame, tmp_path / "e.parquet")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_frames_and_engine_blocks_can_share_a_file(tmp_path, suffix):
    config = SimConfig(hours=3, seed=1)
    frame = simulate(config)
    ids, blocks = simulate_blocks(config)
    path = tmp_path / f"mixed{suffix}"
    with EventsWriter(path) as writer:
        writer.write(frame.iloc[:1000])
        for block in blocks:
            writer.write_table(table_from_columns(block, ids, config.floorplan.departments))
    expected = pd.concat([frame.iloc[:1000], frame], ignore_index=True)
    pd.testing.assert_frame_equal(read_events(path), expected, check_exact=True)
