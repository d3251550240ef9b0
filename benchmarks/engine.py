"""Engine throughput and memory, beside a naive simulation measured in the same run.

    python benchmarks/engine.py [--events 10000000] [--layouts open,fashion,supermarket]

The naive reference is how such a simulator is usually first written: one Python object per
shopper, a loop over every simulated second, one dict per event, then a DataFrame. It keeps the
first, simplest model (random steps in the open store) so that it stays a fixed yardstick while
the engine's shoppers learn to walk floor plans. The engine runs on each layout. Everything runs
pinned to one core, each in a fresh subprocess so that peak memory (max RSS growth over the
warmed-up interpreter) belongs to that run alone; the runs of the naive reference and of each
layout are taken in turns, so that a change in how busy the machine is weighs on all of them.

Each subprocess makes its run twice, the same run: the first in memory the process has never
touched, the second (warmed) in the memory the first gave back. On a virtual machine that hands
freed memory back to its host, touching such memory again can cost ten times more than touching
memory the guest still holds, so a first run's time depends on what ran before it; the warmed
run's does not. Both are reported, the naive reference measured the same way. Figures are
ratios of wall-clock rates and, steadier on a shared machine where a run may wait for the core,
of CPU-time rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CONFIG = dict(width=20, height=15, customers_average_in_store=25, seed=3)
LAYOUTS = {
    "open": CONFIG,
    "fashion": dict(layout="fashion", customers_average_in_store=25, seed=3),
    "supermarket": dict(layout="supermarket", customers_average_in_store=25, seed=3),
}


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import pyarrow

    pyarrow.set_cpu_count(1)


def _max_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed(run) -> dict:
    """Make ``run()`` twice: the first time in fresh memory (its peak measured), then warmed.

    ``run()`` returns the frame and whatever it was made from: all of it is freed after the
    clock stops, so freeing is not timed, and before the next run, which then finds the memory.
    """
    baseline = _max_rss()
    times = {}
    for kind in ("first", "warm"):
        started, cpu = time.perf_counter(), time.process_time()
        made = run()
        times[kind] = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}
        if kind == "first":
            peak = _max_rss() - baseline
        events = len(made[0])
        del made
    return {"events": events, **times, "peak_bytes": peak}


def run_engine(layout: str, events: float) -> dict:
    _pin_one_core()
    from customersim import SimConfig, simulate

    settings = LAYOUTS[layout]
    warm = simulate(SimConfig(**settings, hours=2))  # warm up imports and caches; sizes the run
    config = SimConfig(**settings, hours=events / (len(warm) / 2))
    return _timed(lambda: (simulate(config),))


def run_naive(hours: float) -> dict:
    _pin_one_core()
    import random

    import pandas as pd

    from customersim.config import SimConfig

    config = SimConfig(**CONFIG, hours=hours)

    def run() -> tuple:
        events = naive_simulation(config, random.Random(config.seed))
        return pd.DataFrame(events), events

    return _timed(run)


class NaiveShopper:
    """One shopper, advanced second by second."""

    def __init__(self, customer_id: str, now: int, duration: int, door: tuple[int, int]):
        self.customer_id = customer_id
        self.x, self.y = door
        self.leave_at = now + duration
        self.next_step = now
        self.going_home = False


def naive_simulation(config, rng) -> list[dict]:
    """The same model as the engine, written the straightforward way."""
    width, height, door = config.width, config.height, config.door
    rate = config.customers_average_in_store / config.mean_visit_seconds
    inside: dict[str, NaiveShopper] = {}
    events: list[dict] = []
    ids = [str(i) for i in range(1, 1001)]
    for now in range(config.start, config.end):
        arrivals = 0
        threshold = rng.random()
        probability = pow(2.718281828459045, -rate)
        cumulative = probability
        while threshold > cumulative:  # Poisson draw for this second
            arrivals += 1
            probability *= rate / arrivals
            cumulative += probability
        for _ in range(arrivals):
            customer = rng.choice(ids)
            if customer in inside:
                continue
            duration = int(rng.gammavariate(2.0, config.mean_visit_seconds / 2))
            inside[customer] = NaiveShopper(customer, now, duration, door)
            events.append({"ts": now, "event": "enter", "customer_id": customer, "x": door[0], "y": door[1]})
        for shopper in list(inside.values()):
            if now < shopper.next_step:
                continue
            if shopper.going_home or now >= shopper.leave_at:
                shopper.going_home = True
                if (shopper.x, shopper.y) == door:
                    events.append(
                        {
                            "ts": now,
                            "event": "exit",
                            "customer_id": shopper.customer_id,
                            "x": door[0],
                            "y": door[1],
                        }
                    )
                    del inside[shopper.customer_id]
                    continue
                shopper.x -= (shopper.x > door[0]) - (shopper.x < door[0])
                shopper.y -= (shopper.y > door[1]) - (shopper.y < door[1])
                shopper.next_step = now + config.walk_seconds_per_cell
            else:
                options = [
                    (shopper.x + dx, shopper.y + dy)
                    for dx in (-1, 0, 1)
                    for dy in (-1, 0, 1)
                    if (dx or dy) and 0 <= shopper.x + dx < width and 0 <= shopper.y + dy < height
                ]
                shopper.x, shopper.y = rng.choice(options)
                shopper.next_step = now + max(
                    1, round(rng.gammavariate(2.78, config.dwell_mean_seconds / 2.78))
                )
            events.append(
                {
                    "ts": now,
                    "event": "move",
                    "customer_id": shopper.customer_id,
                    "x": shopper.x,
                    "y": shopper.y,
                }
            )
    return events


def _child(kind: str, size: float) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(size)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> dict:
    """Per kind of run (first, warmed): events per second of the fastest run (the least disturbed
    by anything else running) and the medians of wall-clock and CPU rates."""
    events = runs[0]["events"]
    summary = {"events": events, "peak_bytes": max(run["peak_bytes"] for run in runs) / max(events, 1)}
    for kind in ("first", "warm"):
        seconds = sorted(run[kind]["seconds"] for run in runs)
        cpu = sorted(run[kind]["cpu"] for run in runs)
        summary[kind] = {
            "fastest": events / seconds[0],
            "median": events / seconds[len(runs) // 2],
            "cpu": events / cpu[len(runs) // 2],
        }
    return summary


def _interleaved(kinds: list[tuple[str, float]], repeats: int) -> dict[str, dict]:
    """``repeats`` fresh runs of each kind, taken in turns (naive, then each layout, and again),
    so that a machine that gets busier or quieter during the benchmark weighs on all alike."""
    runs: dict[str, list[dict]] = {kind: [] for kind, _ in kinds}
    for _ in range(repeats):
        for kind, size in kinds:
            runs[kind].append(_child(kind, size))
    return {kind: _summary(done) for kind, done in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e7, help="events in each engine run")
    parser.add_argument("--naive-hours", type=float, default=72.0, help="simulated hours of the naive run")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each; fastest and median reported")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="layouts to run the engine on")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, size = args.child
        result = run_naive(float(size)) if kind == "naive" else run_engine(kind, float(size))
        print(json.dumps(result))
        return
    layouts = args.layouts.split(",")
    kinds = [("naive", args.naive_hours), *((name, args.events) for name in layouts)]
    results = _interleaved(kinds, args.repeats)
    naive = results["naive"]
    print(
        f"one core, {args.repeats} processes each, taken in turns, each making its run twice (first "
        f"in fresh memory, then warmed); the naive reference is the open 20x15 store, 25 inside"
    )
    print(f"{'':12} {'events':>11} {'warmed M events/s':>18} {'first M events/s':>17} {'peak B/event':>12}")
    for kind, result in results.items():
        warm, first = result["warm"], result["first"]
        line = (
            f"{kind:<12} {result['events']:>11,} {warm['median'] / 1e6:>8.3f} ({warm['fastest'] / 1e6:.3f}) "
            f"{first['median'] / 1e6:>7.3f} ({first['fastest'] / 1e6:.3f}) {result['peak_bytes']:>12.1f}"
        )
        if kind != "naive":
            ratios = {
                phase: " / ".join(
                    f"{result[phase][figure] / naive[phase][figure]:,.0f}x"
                    for figure in ("median", "fastest", "cpu")
                )
                for phase in ("warm", "first")
            }
            line += f"   engine / naive: warmed {ratios['warm']}, first {ratios['first']}"
        print(line)
    print("(medians, fastest in brackets; ratios: median / fastest / median in CPU time)")


if __name__ == "__main__":
    main()
