#!/usr/bin/env bash
# One run of everything BENCHMARKS.md's "Phishing checker" section reports, on this machine:
#  1. Hearth: regenerate the model, 5-fold CV on data/sms (writes data/sms/folds.txt);
#  2. the scikit-learn baseline on the same folds, and its throughput;
#  3. Hearth's check_stream throughput (wall and CPU time; and criterion).
# Results go to bench/results/phish-*.{json,txt}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/bench/results"
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
cargo run --release -q -p hearth-phish --example train > "$out/phish-hearth-cv.json"
bash bench/phish_baseline.sh > "$out/phish-baseline.json"
cargo run --release -q -p hearth-phish --example throughput 20 > "$out/phish-throughput.json"
cargo bench -q -p hearth-phish --bench check 2>&1 | grep -E "^(stream|large)|time:|thrpt:" > "$out/phish-throughput.txt"
cat /proc/loadavg > "$out/phish-loadavg.txt"
cat "$out/phish-hearth-cv.json" "$out/phish-baseline.json" "$out/phish-throughput.json" "$out/phish-throughput.txt" "$out/phish-loadavg.txt"
