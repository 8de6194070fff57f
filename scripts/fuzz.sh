#!/usr/bin/env bash
# Runs every cargo fuzz target for a bounded time and fails on the first crash, hang
# or out-of-memory (libFuzzer saves the reproducer under fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Needs the nightly toolchain (installed here) and cargo-fuzz, which it installs from
# crates.io into target/fuzz-tools the first time. Builds go to target/fuzz; the
# growing corpora to target/fuzz/corpus/<target>, seeded from fuzz/seeds/<target>.
# FUZZ_SANITIZER=none|address (default address).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS="${1:-60}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(access_event message_check mime_report password_check)
fi
SANITIZER="${FUZZ_SANITIZER:-address}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
TOOLS="$ROOT/target/fuzz-tools"
TARGET_DIR="$ROOT/target/fuzz"

if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  echo "fuzz.sh: the $TOOLCHAIN toolchain is not installed (rustup toolchain list)" >&2
  exit 2
fi
CARGO_FUZZ="$(command -v cargo-fuzz || true)"
if [ -z "$CARGO_FUZZ" ]; then
  if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    echo "==> installing cargo-fuzz into $TOOLS"
    cargo install --quiet --locked --root "$TOOLS" cargo-fuzz
  fi
  CARGO_FUZZ="$TOOLS/bin/cargo-fuzz"
fi

fuzz() { (cd "$ROOT" && "$CARGO_FUZZ" "$@"); }

echo "==> building ${TARGETS[*]} (sanitizer: $SANITIZER)"
for t in "${TARGETS[@]}"; do
  RUSTUP_TOOLCHAIN="$TOOLCHAIN" fuzz build --sanitizer "$SANITIZER" --debug-assertions \
    --target-dir "$TARGET_DIR" "$t"
done

status=0
for t in "${TARGETS[@]}"; do
  corpus="$TARGET_DIR/corpus/$t"
  artifacts="$ROOT/fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "==> fuzzing $t for ${SECS}s"
  log="$TARGET_DIR/$t.log"
  if RUSTUP_TOOLCHAIN="$TOOLCHAIN" fuzz run --sanitizer "$SANITIZER" --debug-assertions \
    --target-dir "$TARGET_DIR" "$t" "$corpus" "$ROOT/fuzz/seeds/$t" -- \
    -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$log" | tr '\n' ' '
    echo
  else
    status=1
    echo "!! $t failed; the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    echo "!! reproducer(s) in $artifacts:" >&2
    ls -1 "$artifacts" >&2 || true
  fi
done
exit $status
