#!/usr/bin/env bash
# Regenerates every committed table under results/ (one command):
#   scripts/regenerate-results.sh [DATA_DIR]      (default: $TLAB_DATA, else ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${TLAB_DATA:-../shared/data}}"
# The dev profile already optimises every dependency and tlab-core (see Cargo.toml), and
# shares its build with `cargo test`: no second, release build of polars is needed.
cargo build -p tlab-experiments
tlab="${CARGO_TARGET_DIR:-target}/debug/tlab"
"$tlab" --out results --quiet >/dev/null
for suite in office-caltech-surf mnist-usps coil20 amazon-reviews office-caltech-surf-da mnist-usps-da coil20-da office-caltech-surf-coral-svm amazon-reviews-da; do
    "$tlab" run "experiments/suites/$suite.toml" --data-dir "$data" --out results --quiet >/dev/null
done
echo "tables written under results/*/table.md"
