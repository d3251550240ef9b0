"""write_dataset: the one function that writes a dataset, for the CLI, the app and notebooks."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from customersim import SimConfig, simulate
from customersim.app.support import events_file_bytes
from customersim.cli import main
from customersim.dataset import write_dataset
from customersim.files import read_events

CONFIG = SimConfig(hours=6, seed=5, start="2026-01-05T06:00:00Z")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_generate_the_app_and_the_library_write_the_same_bytes(tmp_path, suffix) -> None:
    ours = tmp_path / f"lib{suffix}"
    summary = write_dataset(CONFIG, ours)
    cli = tmp_path / f"cli{suffix}"
    env = CONFIG.to_env()
    assert main(["generate", "--out", str(cli), "--quiet"], environ=env) == 0
    assert ours.read_bytes() == cli.read_bytes() == events_file_bytes(CONFIG, suffix[1:])
    frame = simulate(CONFIG)
    assert summary.events == len(frame) and summary.visits == frame["visit"].nunique()
    pd.testing.assert_frame_equal(
        read_events(ours).reset_index(drop=True),
        frame.reset_index(drop=True),
        check_dtype=False,
        check_categorical=False,
    )


def test_progress_reaches_the_end_in_order(tmp_path) -> None:
    seen: list[int] = []
    write_dataset(CONFIG, tmp_path / "e.parquet", on_progress=seen.append)
    assert seen and seen == sorted(seen)
    assert int(CONFIG.start) <= seen[-1] <= CONFIG.end


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_whole_number_above_zero(tmp_path, workers) -> None:
    with pytest.raises(ValueError, match="workers"):
        write_dataset(CONFIG, tmp_path / "e.csv", workers=workers)
    assert not list(tmp_path.iterdir())


def test_the_pipeline_keeps_the_order_and_bounds_the_waiting_rows() -> None:
    from customersim.dataset import _Pipeline

    written, put, waiting = [], [], []
    release, held_back = threading.Event(), threading.Event()

    def write(item):
        release.wait(timeout=30)
        written.append(item)

    with _Pipeline(write, rows=100) as pipeline:
        # Told when a put finds no room: the feeder is then held back, and stays so until the
        # writer, stopped on the first item, lets one go.
        wait_for = pipeline._changed.wait_for

        def watched_wait_for(predicate, timeout=None):
            if threading.current_thread() is feeder and not predicate():
                held_back.set()
            return wait_for(predicate, timeout)

        pipeline._changed.wait_for = watched_wait_for

        def feed():
            for item in range(10):
                pipeline.put(item, 40)
                put.append(item)
                waiting.append(pipeline._waiting_rows)

        feeder = threading.Thread(target=feed)
        feeder.start()
        # The writer holds item 0; 40-row items: two wait (80 rows), a third would make 120.
        assert held_back.wait(timeout=30)
        assert put == [0, 1]
        release.set()
        feeder.join(timeout=30)
    assert written == list(range(10))
    assert max(waiting) <= 100


def test_a_failed_write_is_raised_in_the_caller(tmp_path) -> None:
    from customersim.dataset import _Pipeline

    def write(item):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), _Pipeline(write, rows=10) as pipeline:
        for item in range(100):
            pipeline.put(item, 5)
