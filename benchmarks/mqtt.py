"""MQTT throughput: the Publisher at QoS 0 and QoS 1 beside ``mosquitto_pub -l`` (QoS 0).

Starts its own mosquitto on a free port, simulates a dataset, and measures messages per second
end to end: from the start of publishing until a ``mosquitto_sub -C N`` subscriber has received
all N messages (so nothing lost is part of the measure). ``mosquitto_pub -l`` publishes the
very same payloads in the same run as the reference; the figures are printed as ratios.

    python benchmarks/mqtt.py [--events 200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.mqtt_broker import Mosquitto

from customersim import SimConfig, simulate
from customersim.mqtt import MqttSettings, Publisher, encode_frame


def _subscriber(port: int, count: int) -> subprocess.Popen:
    sub = subprocess.Popen(
        [
            "stdbuf",
            "-oL",
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            "bench/#",
            "-q",
            "1",
            "-C",
            str(count),
            "-d",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in sub.stdout:
        if "SUBACK" in line:
            return sub
    raise RuntimeError("mosquitto_sub did not subscribe")


def _measure(port: int, count: int, publish) -> float:
    sub = _subscriber(port, count)
    received = [0]

    def drain() -> None:  # keep the pipe empty so that the subscriber never waits on us
        received[0] = sum(1 for line in sub.stdout if line.startswith("{"))

    reader = threading.Thread(target=drain)
    reader.start()
    began = time.perf_counter()
    publish()
    sub.wait(120)
    took = time.perf_counter() - began
    reader.join()
    if received[0] < count:
        raise RuntimeError(f"only {received[0]} of {count} messages arrived")
    return count / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    hours = args.events / 14_000 + 1  # ~16,000 events per simulated hour with 200 inside
    frame = simulate(SimConfig(hours=hours, seed=1, customers_average_in_store=200))
    frame = frame.iloc[: args.events]
    count = len(frame)
    payloads = encode_frame(frame)
    topics = {"enter": "bench/enter", "move": "bench/move", "exit": "bench/exit"}
    broker = Mosquitto.create(kinds=("plain",)).start()
    port = broker.ports["plain"]

    def reference() -> None:
        pub = subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "bench/move", "-l", "-q", "0"],
            stdin=subprocess.PIPE,
        )
        pub.stdin.write(b"\n".join(payloads) + b"\n")
        pub.stdin.close()
        pub.wait()

    def ours(qos: int):
        def publish() -> None:
            publisher = Publisher(
                MqttSettings(host="127.0.0.1", port=port, topics=topics, qos=qos, client_id=f"bench-{qos}"),
                speed="max",
            )
            publisher.start(frame)
            stats = publisher.wait()
            if not stats.ok:
                raise RuntimeError(stats.summary())

        return publish

    try:
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, publish in (
                ("mosquitto_pub -l (QoS 0)", reference),
                ("Publisher QoS 0", ours(0)),
                ("Publisher QoS 1", ours(1)),
            ):
                best[name] = max(best.get(name, 0.0), _measure(port, count, publish))
    finally:
        broker.cleanup()
    ref = best["mosquitto_pub -l (QoS 0)"]
    print(f"{count:,} events, end to end to a mosquitto_sub subscriber, best of {args.repeat}")
    for name, rate in best.items():
        print(f"  {name:26s} {rate:10,.0f} msg/s   {rate / ref:5.2f} x mosquitto_pub")


if __name__ == "__main__":
    main()
