#!/usr/bin/env bash
# The scikit-learn baseline for Hearth's phishing checker: TF-IDF + logistic regression,
# 5-fold CV on the same folds as Hearth (data/sms/folds.txt), and its throughput.
# Creates its own virtual environment under bench/.venv (scikit-learn from PyPI).
#   bash bench/phish_baseline.sh            # prints JSON
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "scikit-learn>=1.3,<2"
fi
exec "$venv/bin/python" "$here/phish_baseline.py" "$@"
