#!/usr/bin/env bash
# One entry point for a fresh machine: set up .venv, then serve the app or run the tests.
#   bash scripts/dev.sh serve [app.py args]   # the app on SQLite with the offline demo
#   bash scripts/dev.sh test [pytest args]    # lint + the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${CHESTX_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  # torch first: 2.13.0 is the local CPU build; any other resolution would fetch a multi-GB CUDA build.
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    "$VENV/bin/pip" install -q torch==2.13.0
  fi
  local stamp="$VENV/.chestx-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$stamp"
  fi
}

need_browser() {
  # Browser tests drive Debian's chromium (never a downloaded browser).
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
    else
      echo "chromium is not installed (apt-get install chromium); browser tests will be skipped" >&2
    fi
  fi
}

need_pacs() {
  # tests/pacs run against a real Orthanc with its DICOMweb plugin (Debian's packages); they start
  # it themselves on free local ports (the package's own service is not used) and skip without it.
  if ! command -v Orthanc >/dev/null 2>&1 || [ ! -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -qq orthanc orthanc-dicomweb >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq orthanc orthanc-dicomweb; } \
        || echo "could not install Orthanc; PACS tests will be skipped" >&2
    else
      echo "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb); PACS tests will be skipped" >&2
    fi
  fi
}

cmd=${1:-test}
shift || true
case "$cmd" in
  setup)
    setup ;;
  serve)
    setup
    exec "$VENV/bin/python" app.py "$@" ;;
  test)
    setup
    need_browser
    need_pacs
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    exec "$VENV/bin/python" -m pytest "$@" ;;
  *)
    echo "usage: bash scripts/dev.sh serve|test|setup [args]" >&2
    exit 2 ;;
esac
