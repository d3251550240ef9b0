"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    config, frame = namespace["config"], namespace["frame"]
    from customersim import metrics, validate_events

    assert validate_events(frame, config).ok
    assert abs(metrics.mean_occupancy(frame, config.start, config.end) - 6) < 2


def test_readme_layout_example_parses():
    from customersim.floorplan import parse_floorplan

    block = re.search(r"```toml\n(.*?)```", README.read_text(), flags=re.S).group(1)
    plan = parse_floorplan(block, "README.md")
    assert plan.departments == ("Fruit", "Bread") and (plan.width, plan.height) == (10, 6)
