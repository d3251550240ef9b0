"""``customersim generate --engine dask``: a store or a chain, as a Parquet dataset, on a cluster.

With ``--scheduler ADDRESS`` the work goes to that Dask scheduler (its workers need customersim
installed and write access to ``--out`` under the same path); without one a ``LocalCluster`` of
``--workers`` processes (default: one per core) is started for the run and stopped after it.
The progress bar counts the partitions the cluster has finished.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from customersim.cli._sim_options import config_from_args
from customersim.config import format_start
from customersim.errors import CapacityError, CustomerListError, UserError

if TYPE_CHECKING:
    from customersim.chain import Chain

ENGINES = ("local", "dask")
DEFAULT_SCHEDULER_TIMEOUT = 5.0


def add_dask_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the Dask engine (``--engine``, ``--scheduler``, ``--stores``)."""
    group = parser.add_argument_group("on a Dask cluster")
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: one file from this process (default); dask: a Parquet dataset folder, "
        "partitioned by store and date, built on a Dask cluster",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: a local cluster of --workers "
        "processes, one per core)",
    )
    group.add_argument(
        "--scheduler-timeout",
        type=float,
        default=DEFAULT_SCHEDULER_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for the scheduler (default {DEFAULT_SCHEDULER_TIMEOUT:g})",
    )
    group.add_argument(
        "--window-blocks",
        type=int,
        default=None,
        metavar="N",
        help="engine blocks per partition (default 4 x the look-back; fewer: less memory per "
        "partition, more work)",
    )
    group.add_argument(
        "--stores",
        metavar="TABLE",
        default=None,
        help="stores table (.csv or .toml): a chain of stores, one row per store_id with its own "
        "settings (needs --engine dask)",
    )


def _chain(args: argparse.Namespace, environ: Mapping[str, str]) -> Chain:
    from customersim.chain import read_stores_table, single_store

    config = config_from_args(args, environ)
    return read_stores_table(args.stores, config) if args.stores else single_store(config)


def _check_out(out: str) -> None:
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(
            f"--out {out}: already exists and is not an empty folder: the dataset needs a new or empty folder"
        )


def _connect(args: argparse.Namespace):
    """A ``distributed.Client`` (and the local cluster it owns, or ``None``)."""
    from distributed import Client

    from customersim.distributed import local_cluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if args.scheduler:
        try:
            return Client(args.scheduler, timeout=args.scheduler_timeout, set_as_default=True), None
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UserError(
                f"cannot reach the Dask scheduler at {args.scheduler} within "
                f"{args.scheduler_timeout:g} s: {reason}"
            ) from None
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UserError(f"--workers must be a whole number >= 1, got {workers}")
    cluster = local_cluster(workers)
    return Client(cluster, set_as_default=True), cluster


def generate_on_dask(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Write the dataset of ``args`` on a Dask cluster; returns the exit status."""
    from distributed import as_completed
    from tqdm import tqdm

    from customersim.distributed import dataset_tasks

    chain = _chain(args, environ)
    if args.window_blocks is not None and args.window_blocks < 1:
        raise UserError(f"--window-blocks must be a whole number >= 1, got {args.window_blocks}")
    _check_out(args.out)
    client, cluster = _connect(args)
    try:
        try:
            tasks = dataset_tasks(chain, args.out, window_blocks=args.window_blocks)
        except (CapacityError, CustomerListError) as error:
            raise UserError(str(error)) from None
        except Exception as error:  # raised on a worker or by the scheduler: say it in one line
            raise UserError(f"the cluster could not draw the stores' visits: {_one_line(error)}") from None
        futures = client.compute(tasks.to_delayed())
        rows = visits = files = 0
        with tqdm(
            total=len(futures),
            unit="window",
            desc="partitions",
            disable=True if args.quiet else None,
            leave=False,
            dynamic_ncols=True,
        ) as bar:
            for future in as_completed(futures):
                try:
                    summary = future.result()
                except Exception as error:  # a worker's error (disk full, lost worker, ...)
                    raise UserError(f"a partition failed on the cluster: {_one_line(error)}") from None
                rows += int(summary["rows"].sum())
                visits += int(summary["visits"].sum())
                files += int(summary["files"].sum())
                bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    first = chain.stores[0].config
    print(
        f"wrote {args.out}: {rows} events, {visits} visits, {len(chain)} "
        f"store{'s' if len(chain) != 1 else ''}, {files} files in {len(futures)} partitions, "
        f"{format_start(int(first.start))} + {first.hours:g} h",
        file=sys.stdout,
    )
    return 0


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def check_local(args: argparse.Namespace) -> None:
    """Refuse the Dask engine's flags when the local engine runs."""
    if args.stores:
        raise UserError("--stores needs --engine dask: a chain is written as a dataset folder")
    if args.scheduler:
        raise UserError("--scheduler needs --engine dask")
