# Sourced by the scripts: make .venv (once) and install the project into it, with the extras
# named in TT_EXTRAS (e.g. TT_EXTRAS=test). Re-installs only when setup.cfg changed since.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($PYTHON --version)" >&2
  "$PYTHON" -m venv .venv
fi
EXTRAS="${TT_EXTRAS:-}"
stamp=".venv/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
  echo "installing tiktickets${EXTRAS:+[$EXTRAS]} into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -c "import gevent, pykka, flask_sock, peewee" \
    || { echo "installation failed" >&2; exit 1; }
  touch "$stamp"
fi
