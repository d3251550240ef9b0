#!/usr/bin/env bash
# Create .venv (if needed) and install customersim into it.
# Usage: scripts/setup-venv.sh [dev]   - "dev" adds the test and notebook dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "customersim needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    # Debian and Ubuntu ship venv separately.
    rm -rf .venv
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    as_root apt-get update -q
    as_root apt-get install -y -q "python${version}-venv" || as_root apt-get install -y -q python3-venv
    "$python" -m venv .venv
  fi
fi
requirements=requirements.txt
[ "${1:-}" = dev ] && requirements=requirements-dev.txt
stamp=.venv/.installed-$(cat "$requirements" requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$requirements"
  .venv/bin/python -m pip install -q --no-deps -e .
  touch "$stamp"
fi
