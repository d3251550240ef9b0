"""The container recipe holds together: Dockerfile, compose.yaml and .dockerignore, parsed.

No container engine runs on the machines this project is built and tested on, so the recipe is
checked by reading it the way the engine would: the Dockerfile with dockerfile-parse, compose.yaml
as YAML. Every file the image copies or compose mounts must exist and must not be excluded by
.dockerignore; the entry point must be the installed command and its subcommand; the ports the
service listens on, exposes, publishes and probes must agree; and the health check command is
run here against a small HTTP server, so that a broken probe fails this test, not a deployment.
"""

from __future__ import annotations

import http.server
import json
import re
import shlex
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from customersim.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HTTP_PORT = 8000
APP_PORT = 8501


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(str(ROOT / "Dockerfile"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def instructions(dockerfile: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in dockerfile.structure if i["instruction"] == name]


def exec_form(value: str) -> list[str]:
    """The JSON array of an ENTRYPOINT, CMD or HEALTHCHECK CMD (the shell form is not wanted)."""
    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(p, str) for p in parsed), value
    return parsed


# ----------------------------------------------------------------------------- .dockerignore


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # Docker's rules, as far as this file uses them: paths relative to the context, "*" and "?"
    # within one path element, "**" across elements; a folder that matches excludes its content.
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves out ``path`` (relative, with forward slashes)."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def test_the_ignore_matcher_follows_dockers_rules():
    patterns = [".git", "**/__pycache__", "*.log", "data", "!data/keep.csv"]
    assert ignored(".git/config", patterns)
    assert ignored("customersim/cli/__pycache__/run.cpython-311.pyc", patterns)
    assert ignored("messages.log", patterns) and not ignored("logs/messages.log", patterns)
    assert ignored("data/big.parquet", patterns) and not ignored("data/keep.csv", patterns)
    assert not ignored("customersim/cli/run.py", patterns)


def test_dockerignore_leaves_out_what_the_image_never_needs():
    patterns = ignore_patterns()
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "customersim/__pycache__/x.pyc",
        "week.parquet",
        "test-artifacts/app.png",
    ):
        assert ignored(path, patterns), path


# ---------------------------------------------------------------------------------- Dockerfile


def copied_sources(dockerfile: DockerfileParser) -> list[str]:
    sources = []
    for value in instructions(dockerfile, "COPY") + instructions(dockerfile, "ADD"):
        words = [w for w in shlex.split(value) if not w.startswith("--")]
        sources.extend(words[:-1])  # the last word is the destination
    return sources


def test_every_copied_file_exists_and_reaches_the_build_context(dockerfile):
    sources = copied_sources(dockerfile)
    assert {"requirements.txt", "pyproject.toml", "customersim"} <= set(sources)
    patterns = ignore_patterns()
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"the Dockerfile copies {source}, which is not in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
        assert files, source
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            assert not ignored(relative, patterns), f"{relative} is copied but .dockerignore leaves it out"


def test_the_package_is_installed_whole(dockerfile):
    # pip install . builds from pyproject.toml: what it reads must be in the image before it.
    readme = PYPROJECT["project"]["readme"]
    assert readme in copied_sources(dockerfile)
    runs = instructions(dockerfile, "RUN")
    assert "pip install -r requirements.txt" in runs and any(
        r.startswith("pip install --no-deps .") for r in runs
    )


def test_base_image_is_a_slim_python_the_package_supports(dockerfile):
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(?:-\w+)?", dockerfile.baseimage)
    assert match, dockerfile.baseimage
    lowest = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert (int(match[1]), int(match[2])) >= (int(lowest[1]), int(lowest[2]))


def test_runs_as_an_unprivileged_user(dockerfile):
    users = instructions(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    last_user = max(i for i, x in enumerate(dockerfile.structure) if x["instruction"] == "USER")
    entry = max(i for i, x in enumerate(dockerfile.structure) if x["instruction"] == "ENTRYPOINT")
    assert last_user < entry
    assert any("useradd" in r and users[-1] in r for r in instructions(dockerfile, "RUN"))


def test_entry_point_is_the_installed_command_running_the_service(dockerfile):
    (entrypoint,) = instructions(dockerfile, "ENTRYPOINT")
    (cmd,) = instructions(dockerfile, "CMD")
    assert exec_form(entrypoint) == ["customersim"]
    assert "customersim" in PYPROJECT["project"]["scripts"]
    argv = exec_form(cmd)
    assert argv == ["run", "--http-port", str(HTTP_PORT)]
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert argv[0] in subcommands


def test_ports_agree_and_the_api_listens_beyond_the_container(dockerfile):
    assert instructions(dockerfile, "EXPOSE") == [str(HTTP_PORT)]
    assert dockerfile.envs["HTTP_HOST"] == "0.0.0.0"
    (healthcheck,) = instructions(dockerfile, "HEALTHCHECK")
    assert f"http://127.0.0.1:{HTTP_PORT}/healthcheck" in healthcheck


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Probe(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path == "/healthcheck" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def health_probe(dockerfile) -> list[str]:
    (healthcheck,) = instructions(dockerfile, "HEALTHCHECK")
    command = exec_form(healthcheck.split(" CMD ", 1)[1].strip())
    assert command[0] == "python"  # the slim image has no curl
    return [sys.executable, *command[1:]]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_health_check_command_tells_healthy_from_not(dockerfile, status, healthy):
    port = free_port()
    command = [part.replace(f":{HTTP_PORT}/", f":{port}/") for part in health_probe(dockerfile)]
    handler = type("Probe", (_Probe,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = subprocess.run(command, check=False, capture_output=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy, result.stderr


def test_the_health_check_fails_when_nothing_listens(dockerfile):
    port = free_port()
    command = [part.replace(f":{HTTP_PORT}/", f":{port}/") for part in health_probe(dockerfile)]
    assert subprocess.run(command, check=False, capture_output=True, timeout=30).returncode != 0


# -------------------------------------------------------------------------------- compose.yaml


def published(service: dict) -> dict[int, tuple[str, int]]:
    """Container port -> (host address, host port) of each published port."""
    out = {}
    for spec in service.get("ports", []):
        host, host_port, container_port = str(spec).rsplit(":", 2)
        out[int(container_port)] = (host, int(host_port))
    return out


def test_compose_has_the_broker_the_service_and_the_app(compose):
    assert set(compose["services"]) == {"mosquitto", "customersim", "app"}
    service, app = compose["services"]["customersim"], compose["services"]["app"]
    assert service["build"] == "." and (ROOT / "Dockerfile").exists()
    assert app["image"] == service["image"]  # the app runs the image the service builds
    for name, spec in compose["services"].items():
        for dependency in spec.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_compose_wires_both_clients_to_the_broker_with_their_own_ids(compose):
    services = compose["services"]
    for name in ("customersim", "app"):
        assert services[name]["environment"]["MQTT_HOST"] == "mosquitto", name
        assert services[name]["environment"]["MQTT_PORT"] == "1883", name
    # Two MQTT clients with one id throw each other off the broker in a loop.
    assert services["customersim"]["environment"]["MQTT_NAME"] != services["app"]["environment"]["MQTT_NAME"]
    config = (ROOT / "deploy" / "mosquitto.conf").read_text(encoding="utf-8")
    assert re.search(r"^listener 1883$", config, re.MULTILINE)


def test_compose_ports_match_what_listens_and_stay_on_localhost(compose, dockerfile):
    services = compose["services"]
    assert published(services["customersim"]) == {HTTP_PORT: ("127.0.0.1", HTTP_PORT)}
    assert published(services["app"]) == {APP_PORT: ("127.0.0.1", APP_PORT)}
    assert published(services["mosquitto"]) == {1883: ("127.0.0.1", 1883)}
    entrypoint = services["app"]["entrypoint"]
    assert entrypoint[:2] == ["streamlit", "run"]
    assert f"--server.port={APP_PORT}" in entrypoint and "--server.address=0.0.0.0" in entrypoint
    assert f":{APP_PORT}/_stcore/health" in " ".join(services["app"]["healthcheck"]["test"])


def test_the_app_script_is_where_the_image_copies_it(compose, dockerfile):
    script = Path(compose["services"]["app"]["entrypoint"][2])
    workdirs = instructions(dockerfile, "WORKDIR")
    copy = next(v for v in instructions(dockerfile, "COPY") if "app.py" in v.split())
    destination = shlex.split(copy)[-1]
    folder = Path(workdirs[0]) if destination in ("./", ".") else Path(destination)
    assert script == folder / "app.py" and (ROOT / "app.py").exists()


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).is_file(), f"{name} mounts {source}, which is not in the repository"
