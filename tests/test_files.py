"""File sinks: round trips, byte-identical output for any chunking and any number of workers."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from customersim import SimConfig, files, simulate, simulate_chunks
from customersim.files import EventsWriter, read_events, table_from_columns, write_events
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
    assert lines[0] == "ts,event,customer_id,x,y,visit"
    first = frame.iloc[0]
    assert lines[1] == f"{first.ts},{first.event},{first.customer_id},{first.x},{first.y},{first.visit}"
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
                writer.write_table(table_from_columns(block, ids))
    else:
        write_events(simulate_chunks(config, chunk_rows=chunk_rows), path)
    return path.read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_are_byte_identical_for_any_chunking_and_workers(tmp_path, suffix, monkeypatch):
    monkeypatch.setattr(files, "PARQUET_ROW_GROUP", 5_000)  # several row groups
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
    assert path.read_text() == "ts,event,customer_id,x,y,visit\n"
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
    with pytest.raises(ValueError, match=r"bad.csv, line 4, column y: cannot be read as int16"):
        read_events(path)


def test_unknown_event_names_reach_the_validator(tmp_path):
    from customersim import validate_events

    path = tmp_path / "odd.csv"
    path.write_text("ts,event,customer_id,x,y\n1,enter,1,0,0\n2,jump,1,1,1\n")
    report = validate_events(read_events(path))
    assert report.violations["message"].tolist() == ["event 'jump' is not one of enter, move, exit"]
