"""Batch generation to files: rows/s and peak memory, beside pyarrow writing an in-memory frame.

    python benchmarks/batch.py [--hours 3800] [--year]

For each format the reference is pyarrow alone writing a frame that is already in memory
(``pyarrow.csv.write_csv`` / ``pyarrow.parquet.write_table``); ours is the whole job of
``customersim generate``: simulate *and* write, streaming. Every run is a fresh subprocess
pinned to one core, so peak memory (max RSS growth after imports) belongs to it alone.

Ours is also timed as a user runs it: ``python -m customersim generate ...`` as a process from
start to exit (start-up included), pinned to one core and free to use every core (the file is
written in a thread of its own while the next block is simulated).
``--year`` adds a year (8,760 h) of the default store with 50 inside, to Parquet.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

STORE = ["--width", "20", "--height", "15", "--average-inside", "25", "--seed", "3"]


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _max_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(kind: str, args: list[str], out: str) -> dict:
    _pin_one_core()
    import pyarrow

    pyarrow.set_cpu_count(1)
    from customersim.cli import main

    main(["generate", "--hours", "1", *STORE, "--out", out, "--quiet"], environ={})  # warm up
    os.remove(out)
    baseline = _max_rss()
    if kind == "ours":
        started, cpu = time.perf_counter(), time.process_time()
        main(["generate", *args, "--out", out, "--quiet"], environ={})
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    else:  # pyarrow writing an in-memory frame (the frame is made first, untimed)
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        from customersim import simulate
        from customersim.cli._sim_options import add_sim_arguments, config_from_args

        parser = argparse.ArgumentParser()
        add_sim_arguments(parser)
        frame = simulate(config_from_args(parser.parse_args(args), {}))
        table = pyarrow.Table.from_pandas(frame, preserve_index=False)
        started, cpu = time.perf_counter(), time.process_time()
        if out.endswith(".csv"):
            pa_csv.write_csv(table, out)
        else:
            pq.write_table(table, out, compression="zstd")
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    import pyarrow.parquet as pq

    if out.endswith(".parquet"):
        rows = pq.ParquetFile(out).metadata.num_rows
    else:
        with open(out, "rb") as handle:
            rows = sum(1 for _ in handle) - 1
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_bytes": _max_rss() - baseline,
        "file_bytes": os.path.getsize(out),
    }


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_process(args: list[str], out: str, *, pinned: bool) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``python -m customersim generate`` as a process, start to exit.

    CPU seconds are the figure to trust on a machine that others share: they do not grow while
    the process waits for a core.
    """
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "customersim", "generate", *args, "--out", out, "--quiet"],
        check=True,
        capture_output=True,
        preexec_fn=_pin_one_core if pinned else None,
    )
    return time.perf_counter() - started, _children_cpu() - cpu


def _run(kind: str, args: list[str], out: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(args), out],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3800, help="simulated hours (3800: about 10^7 rows)")
    parser.add_argument("--year", action="store_true", help="also a year of the default store, 50 inside")
    parser.add_argument("--repeat", type=int, default=3, help="process runs; the fastest counts")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, child_args, out = args.child
        print(json.dumps(child(kind, json.loads(child_args), out)))
        return
    job = ["--hours", str(args.hours), *STORE]
    print(f"store 20x15, 25 inside, {args.hours:g} h, one core")
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".csv", ".parquet"):
            out = os.path.join(folder, "events" + suffix)
            reference = _run("pyarrow", job, out)
            ours = _run("ours", job, out)
            ref_rate = reference["rows"] / reference["seconds"]
            our_rate = ours["rows"] / ours["seconds"]
            print(
                f"{suffix[1:]:8s} pyarrow writing a frame in memory: {ref_rate / 1e6:6.2f} M rows/s, "
                f"peak {reference['peak_bytes'] / reference['rows']:5.1f} B/row (frame held)"
            )
            print(
                f"{'':8s} customersim generate (simulate + write): {our_rate / 1e6:6.2f} M rows/s, "
                f"peak {ours['peak_bytes'] / 2**20:6.1f} MiB, "
                f"file {ours['file_bytes'] / ours['rows']:4.1f} B/row"
                f"  -> {our_rate / ref_rate:4.2f}x pyarrow"
            )
            for pinned, how in ((True, "one core"), (False, "as a user runs it, all cores")):
                runs = [_run_process(job, out, pinned=pinned) for _ in range(args.repeat)]
                wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
                print(
                    f"{'':8s} customersim generate as a process, {how}: wall {wall:5.2f} s against "
                    f"{reference['seconds']:5.2f} s -> {reference['seconds'] / wall:4.2f}x pyarrow; "
                    f"CPU {cpu:5.2f} s against {reference['cpu_seconds']:5.2f} s"
                )
        if args.year:
            out = os.path.join(folder, "year.parquet")
            year = _run("ours", ["--hours", "8760", "--average-inside", "50", "--seed", "1"], out)
            print(
                f"year of the default store, 50 inside, to Parquet: {year['rows']:,} rows in "
                f"{year['seconds']:.1f} s ({year['rows'] / year['seconds'] / 1e6:.2f} M rows/s), "
                f"peak {year['peak_bytes'] / 2**20:.0f} MiB"
            )


if __name__ == "__main__":
    main()
