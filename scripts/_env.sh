# Shared by scripts/serve and scripts/test: a project-local virtualenv, (re)installed
# whenever pyproject.toml changes. Only PyPI is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GATEWAY_VENV:-$ROOT/.venv}"
PYTHON_BIN="${PYTHON:-python3}"

# ensure_venv runtime | EXTRA[,EXTRA...]: the package alone, or with those extras of
# pyproject.toml (scripts/test: dev,bench, so that every bench and the suite's bench
# smoke test find their Python dependencies: psycopg for the PostGIS comparison). One
# stamp per selection, holding
# pyproject.toml's hash: a changed pyproject.toml, or a new selection, reinstalls.
ensure_venv() {
  local extras="$1"
  local stamp="$VENV/.installed-$extras"
  local target="$ROOT"
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  [ "$extras" = "runtime" ] || target="$ROOT[$extras]"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target"
    echo "$want" > "$stamp"
  fi
}
