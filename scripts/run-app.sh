#!/usr/bin/env bash
# Set up .venv and start the Streamlit app (http://localhost:8501 unless STREAMLIT_SERVER_PORT says otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
exec .venv/bin/streamlit run app.py --browser.gatherUsageStats false "$@"
