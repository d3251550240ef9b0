"""Long horizons stream in flat memory: a year of a busy store to Parquet stays under 1 GiB."""

import json
import subprocess
import sys

import pyarrow.parquet as pq

MEASURE = """
import json, resource, sys
from customersim.cli import main
status = main(sys.argv[1:], environ={})
print(json.dumps({"status": status, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _generate(tmp_path, hours):
    out = tmp_path / f"{hours}.parquet"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            "generate",
            "--hours",
            str(hours),
            "--average-inside",
            "50",
            "--seed",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["status"] == 0
    return measured["peak"], pq.ParquetFile(out).metadata.num_rows


def test_a_year_to_parquet_in_flat_memory(tmp_path):
    month_peak, month_rows = _generate(tmp_path, 720)
    year_peak, year_rows = _generate(tmp_path, 8760)
    assert year_rows > 11 * month_rows
    assert year_peak < 2**30
    # Twelve times the data, about the same memory: nothing grows with the horizon.
    assert year_peak < month_peak + 64 * 2**20
