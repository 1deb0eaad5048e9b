# Sourced by scripts/serve and scripts/test: create .venv and install the project once,
# again only when pyproject.toml changes.
set -euo pipefail
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
  echo "hint: install it, or point PYTHON at it: PYTHON=python3.12 $0" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "… creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${AFFINITY_EXTRAS:-all}"
if [ ! -f "$stamp" ]; then
  echo "… installing Affinity Federation and its dependencies into .venv (first run takes a minute)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[${AFFINITY_EXTRAS:-test,dev}]"
  rm -f .venv/.installed-* && touch "$stamp"
fi
