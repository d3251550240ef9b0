"""A chain of stores on Dask: rows/s for 1 and 2 workers beside the single-process path.

    python benchmarks/scale.py [--stores 100] [--hours 168] [--workers 1,2] [--inside N]

The chain has stores of different sizes and targets (2 to 40 inside on grids from 4 x 4 to
30 x 20). Three ways build the same rows, in one run so that the ratios compare like with
like on a shared machine:

* ``single``: this process, store after store, engine blocks straight into one Parquet file
  per store (what ``customersim generate --out store.parquet`` does);
* ``dask xN``: ``customersim.distributed.dataset_tasks`` on ``local_cluster(N)`` (the
  ``LocalCluster`` of ``generate --engine dask``: N processes of one thread) writing the hive
  dataset; cluster start-up is not timed, the
  per-store pass that records who is inside at each window start is.

Each path prints rows/s of wall time and rows per CPU second (of every process involved: the
workers, and the client with its scheduler): on a machine shared with other work the wall
times follow the load, the CPU figures much less. For each Dask run it prints each worker's peak
resident memory (``ru_maxrss``) and its growth over the worker's memory before the run, next to
the largest partition in rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

SIZES = [(4, 4, 2), (6, 10, 6), (10, 8, 10), (12, 12, 15), (20, 15, 25), (30, 20, 40)]


def write_table(folder: Path, stores: int, inside: float | None = None) -> Path:
    lines = ["store_id,width,height,customers_average_in_store,mean_visit_minutes"]
    for i in range(stores):
        width, height, size = SIZES[i % len(SIZES)]
        inside_here = size if inside is None else inside
        lines.append(f"s{i:04d},{width},{height},{inside_here:g},{15 + 5 * (i % 4)}")
    table = folder / "stores.csv"
    table.write_text("\n".join(lines) + "\n")
    return table


def _warm() -> None:
    """Build and write an hour of a store: imports, lookup tables and caches are made untimed."""
    from customersim.config import SimConfig
    from customersim.files import write_events
    from customersim.simulation import simulate

    with tempfile.TemporaryDirectory() as folder:
        write_events(simulate(SimConfig(hours=1)), Path(folder) / "warm.parquet")


def single(chain, out: Path) -> int:
    from customersim.files import EventsWriter, table_from_columns
    from customersim.simulation import simulate_blocks

    rows = 0
    out.mkdir()
    for store in chain:
        ids, blocks = simulate_blocks(store.config)
        with EventsWriter(out / f"{store.store_id}.parquet") as writer:
            for block in blocks:
                writer.write_table(table_from_columns(block, ids))
        rows += writer.rows
    return rows


def _rss() -> tuple[int, int, float]:
    """Resident memory now, peak resident memory, and CPU seconds used so far, of this process."""
    import psutil

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return psutil.Process().memory_info().rss, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def on_dask(chain, out: Path, workers: int) -> tuple[int, float, float, list[tuple[int, int]], int]:
    from distributed import Client

    from customersim.distributed import dataset_tasks, local_cluster

    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(_warm)
        before, here = client.run(_rss), _rss()[2]
        started = time.perf_counter()
        tasks = dataset_tasks(chain, out)
        summary = client.compute(tasks).result()
        seconds = time.perf_counter() - started
        after = client.run(_rss)
        # CPU of the workers and of this process (client and scheduler).
        cpu = _rss()[2] - here + sum(after[w][2] - before[w][2] for w in after)
        memory = [(after[w][1], after[w][1] - before[w][0]) for w in sorted(after)]
    return int(summary["rows"].sum()), seconds, cpu, memory, int(summary["rows"].max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--hours", type=float, default=168)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument(
        "--inside", type=float, default=None, help="the same target for every store (big partitions)"
    )
    args = parser.parse_args()

    from customersim.chain import read_stores_table
    from customersim.config import SimConfig

    work = Path(tempfile.mkdtemp(prefix="scale-"))
    try:
        chain = read_stores_table(
            write_table(work, args.stores, args.inside), SimConfig(hours=args.hours, seed=1)
        )
        print(f"chain of {args.stores} stores x {args.hours:g} h, {os.cpu_count()} cores", flush=True)
        _warm()
        started, cpu = time.perf_counter(), _rss()[2]
        reference = single(chain, work / "single")
        seconds, cpu = time.perf_counter() - started, _rss()[2] - cpu
        print(f"{'':>8}  {'rows':>12}  {'wall':>7}  {'rows/s':>12}  {'CPU':>7}  {'rows/CPU-s':>12}")
        print(
            f"{'single':>8}: {reference:>12,} {seconds:7.1f} s {reference / seconds:>12,.0f} "
            f"{cpu:7.1f} s {reference / cpu:>12,.0f}"
        )
        for workers in (int(w) for w in args.workers.split(",")):
            rows, seconds, cpu, memory, largest = on_dask(chain, work / f"dask{workers}", workers)
            same = "same rows" if rows == reference else f"ROWS DIFFER ({rows:,})"
            print(
                f"{'dask x' + str(workers):>8}: {rows:>12,} {seconds:7.1f} s {rows / seconds:>12,.0f} "
                f"{cpu:7.1f} s {rows / cpu:>12,.0f}  {same}; largest partition {largest:,} rows"
            )
            for number, (peak, growth) in enumerate(memory):
                mib = f"peak RSS {peak / 2**20:,.0f} MiB (+{growth / 2**20:,.0f} MiB in the run)"
                print(f"{'':>10}worker {number}: {mib}")
            shutil.rmtree(work / f"dask{workers}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
