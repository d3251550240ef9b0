"""Stores on a real Dask cluster: two worker processes of a ``distributed.LocalCluster``.

Whatever the cluster, partitions computed and concatenated equal the single-process frames row
for row, and the dataset written by ``generate --engine dask`` reads back (pandas, polars, Dask)
as the same rows.
"""

import socket
from collections.abc import Iterator
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import polars as pl
import pytest
from distributed import Client, LocalCluster

from customersim.chain import Chain, read_stores_table, simulate_chain
from customersim.cli import main
from customersim.config import SimConfig
from customersim.distributed import (
    events_dataframe,
    local_cluster,
    lookback_blocks,
    store_sources,
    window_bounds,
)
from customersim.engine import make_plan
from customersim.frame import normalize_frame
from customersim.simulation import simulate

BUSY = {"customers_average_in_store": 700, "mean_visit_minutes": 45, "width": 12, "height": 12}


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    cluster = local_cluster(2)  # a distributed.LocalCluster of two worker processes
    assert isinstance(cluster, LocalCluster) and len(cluster.workers) == 2
    client = Client(cluster)
    with dask.config.set(scheduler=client):
        yield client
    client.close()
    cluster.close()


def _chain_table(folder: Path) -> Path:
    """Three stores of different layouts, sizes, targets, rhythms and customer lists."""
    (folder / "few.csv").write_text("customer_id\n" + "\n".join(f"f{i}" for i in range(80)))
    evening = ";".join(["0.2"] * 16 + ["3"] * 6 + ["0.2"] * 2)
    table = folder / "stores.csv"
    table.write_text(
        "store_id,layout,width,height,customers_average_in_store,mean_visit_minutes,arrival_profile,"
        "customers_file\n"
        "north,fashion,,,6,,,\n"
        f"harbour,open,3,4,4,8,{evening},few.csv\n"
        "mall,supermarket,,,120,35,,\n"
    )
    return table


def _ran_on_workers(client: Client) -> bool:
    def plans_built() -> int:
        from customersim.distributed import _plan

        return _plan.cache_info().currsize

    return any(count > 0 for count in client.run(plans_built).values())


@pytest.mark.parametrize(
    ("settings", "window_blocks"),
    [({"hours": 30}, None), ({"hours": 9, **BUSY}, 1), ({"hours": 9, **BUSY}, None)],
    ids=["small-store", "busy-window-per-block", "busy-default-windows"],
)
def test_one_store_partitions_equal_simulate(client, settings, window_blocks):
    config = SimConfig(seed=5, **settings)
    ids = [str(i) for i in range(3000)]
    frame = events_dataframe(config, ids, window_blocks=window_blocks)
    got = client.compute(frame).result().reset_index(drop=True)
    assert got.equals(simulate(config, ids))
    assert "store_id" not in got.columns
    assert _ran_on_workers(client)


def test_busy_store_has_several_windows_and_visits_cross_their_edges(client):
    config = SimConfig(seed=5, hours=9, **BUSY)
    plan = make_plan(config, 3000)
    assert lookback_blocks(plan) >= 1 and len(window_bounds(plan, 1)) >= 3
    frame = events_dataframe(config, [str(i) for i in range(3000)], window_blocks=1)
    parts = [client.compute(frame.get_partition(i)).result() for i in range(frame.npartitions)]
    crossing = set(parts[0]["visit"]) & set(parts[1]["visit"])
    assert crossing, "some visit should be under way at the first window's edge"
    for part, (first, blocks) in zip(parts, window_bounds(plan, 1), strict=True):
        lo = plan.origin + first * plan.block_seconds
        assert part["ts"].between(lo, lo + blocks * plan.block_seconds - 1).all()


def test_chain_of_three_stores_equals_simulate_chain(client, tmp_path):
    chain = read_stores_table(_chain_table(tmp_path), SimConfig(hours=20, seed=8))
    frame = events_dataframe(chain)
    # One partition per store x window: trips make more events per hour, so a store's 20 hours
    # may take more than one window.
    assert frame.npartitions >= len(store_sources(chain))
    got = client.compute(frame).result().reset_index(drop=True)
    expected = simulate_chain(chain)
    assert got.equals(expected)
    assert set(expected.loc[expected["store_id"] == "harbour", "customer_id"]) <= {f"f{i}" for i in range(80)}
    # Each store walks its own floor: the fashion store's departments, the supermarket's size.
    departments = expected.groupby("store_id", observed=True)["dep"].agg(lambda d: set(d.dropna()))
    assert departments["north"] == {"Women", "Men", "Boys", "Girls", "Sports"}
    assert expected.loc[expected["store_id"] == "mall", "x"].max() >= 30


def _read_back(out: Path, how: str) -> pd.DataFrame:
    if how == "pandas":
        frame = pd.read_parquet(out)
    elif how == "polars":
        frame = (
            pl.read_parquet(f"{out}/**/*.parquet", hive_partitioning=True)
            .with_columns(pl.col("date").cast(pl.String))
            .to_pandas()
        )
    else:
        frame = dd.read_parquet(out).compute(scheduler="sync").reset_index(drop=True)
    frame["store_id"] = frame["store_id"].astype(str)
    frame["date"] = frame["date"].astype(str)
    return frame


def _store_rows(frame: pd.DataFrame, store_id: str) -> pd.DataFrame:
    rows = frame[frame["store_id"] == store_id].drop(columns=["store_id", "date"])
    return normalize_frame(rows.reset_index(drop=True))


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("how", ["pandas", "polars", "dask"])
def test_cli_dataset_of_a_chain_reads_back_as_the_single_process_frames(client, tmp_path, capsys, how):
    table = _chain_table(tmp_path)
    out = tmp_path / "dataset"
    argv = ["generate", "--engine", "dask", "--scheduler", client.scheduler.address, "--quiet"]
    argv += ["--stores", str(table), "--hours", "30", "--seed", "8", "--out", str(out)]
    assert main(argv, environ={}) == 0
    assert "3 stores" in capsys.readouterr().out
    back = _read_back(out, how)
    chain = read_stores_table(table, SimConfig(hours=30, seed=8))
    for store in chain:
        expected = simulate(store.config)
        got = _store_rows(back, store.store_id)
        # Read as one dataset, dep's categories are every store's departments: compare the names.
        assert got.astype({"dep": object}).equals(expected.astype({"dep": object})), store.store_id
        days = pd.to_datetime(expected["ts"], unit="s", utc=True).dt.strftime("%Y-%m-%d")
        assert (back.loc[back["store_id"] == store.store_id, "date"].to_numpy() == days.to_numpy()).all()
    if how == "pandas":  # the same settings write the same files, byte for byte
        again = tmp_path / "again"
        assert main([*argv[:-1], str(again)], environ={}) == 0
        assert _files(out) == _files(again)
        assert sorted({p.split("/")[0] for p in _files(out)}) == [
            "store_id=harbour",
            "store_id=mall",
            "store_id=north",
        ]


def test_cli_one_store_on_its_own_local_cluster_equals_the_local_engine(tmp_path, capsys):
    out, single = tmp_path / "dataset", tmp_path / "one.parquet"
    settings = ["--hours", "26", "--seed", "3", "--quiet"]
    assert main(["generate", "--engine", "dask", "--workers", "2", *settings, "--out", str(out)], {}) == 0
    assert main(["generate", *settings, "--out", str(single)], environ={}) == 0
    from customersim.files import read_events

    back = pd.read_parquet(out)
    assert set(back["store_id"].astype(str)) == {"default"}
    assert _store_rows(back.assign(store_id=back["store_id"].astype(str)), "default").equals(
        read_events(single)
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_and_exit_1(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{_free_port()}"
    argv = ["generate", "--engine", "dask", "--scheduler", address, "--scheduler-timeout", "1"]
    assert main([*argv, "--hours", "2", "--out", str(tmp_path / "d")], environ={}) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"customersim generate: cannot reach the Dask scheduler at {address}")
    assert not (tmp_path / "d").exists()


def test_cli_refuses_a_used_folder_and_chain_flags_without_the_dask_engine(tmp_path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    assert main(["generate", "--engine", "dask", "--out", str(used)], environ={}) == 1
    assert "not an empty folder" in capsys.readouterr().err
    table = _chain_table(tmp_path)
    assert main(["generate", "--stores", str(table), "--out", str(tmp_path / "a.csv")], environ={}) == 1
    assert "--stores needs --engine dask" in capsys.readouterr().err
    assert main(["generate", "--engine", "dask", "--window-blocks", "0", "--out", str(used)], {}) == 1
    assert "--window-blocks must be a whole number >= 1, got 0" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("store_id,colour\na,red\n")
    argv = [
        "generate",
        "--engine",
        "dask",
        "--stores",
        str(tmp_path / "bad.csv"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv, environ={}) == 2
    assert "column 'colour' is not a store setting" in capsys.readouterr().err


def test_chain_is_independent_of_the_other_stores_on_the_cluster(client):
    base = SimConfig(hours=12, seed=4)
    two = Chain.from_rows([{"store_id": "a"}, {"store_id": "b"}], base)
    three = Chain.from_rows([{"store_id": "b"}, {"store_id": "c"}, {"store_id": "a"}], base)
    frames = [client.compute(events_dataframe(chain)).result() for chain in (two, three)]
    for store_id in ("a", "b"):
        rows = [f[f["store_id"] == store_id].drop(columns="store_id").reset_index(drop=True) for f in frames]
        assert rows[0].equals(rows[1])
