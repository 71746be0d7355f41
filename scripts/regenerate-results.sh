#!/usr/bin/env bash
# Regenerates every committed table, report and plot under results/ (one command):
#   scripts/regenerate-results.sh [DATA_DIR]      (default: $TLAB_DATA, else ../shared/data)
# Each suite runs afresh (--fresh), then `tlab report` and `tlab plot` read its rows back.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${TLAB_DATA:-../shared/data}}"
# The dev profile already optimises every dependency and tlab-core (see Cargo.toml), and
# shares its build with `cargo test`: no second, release build of polars is needed.
[ -n "${TLAB_BIN:-}" ] || cargo build -p tlab-experiments
tlab="${TLAB_BIN:-${CARGO_TARGET_DIR:-target}/debug/tlab}"
"$tlab" --out results --quiet >/dev/null
suites=(builtin-synthetic builtin-digits)
for suite in negative-transfer-synthetic unsupervised-anomaly-transactions transitive-moons inductive-digits-0-4-to-5-9; do
    "$tlab" run "experiments/suites/$suite.toml" --fresh --out results --quiet >/dev/null
    suites+=("$suite")
done
for suite in office-caltech-surf mnist-usps coil20 amazon-reviews office-caltech-surf-da mnist-usps-da coil20-da office-caltech-surf-coral-svm amazon-reviews-da \
             negative-transfer-surf negative-transfer-amazon negative-transfer-mnist-usps negative-transfer-coil20 \
             unsupervised-msda-amazon unsupervised-clustering-mnist-usps unsupervised-clustering-surf \
             unsupervised-anomaly-mnist-usps unsupervised-anomaly-surf transitive-surf \
             inductive-mnist-usps inductive-amazon inductive-surf inductive-source-budget-mnist-usps \
             deep-da-mnist-usps deep-da-amazon; do
    "$tlab" run "experiments/suites/$suite.toml" --fresh --data-dir "$data" --out results --quiet >/dev/null
    suites+=("$suite")
done
for suite in "${suites[@]}"; do
    "$tlab" report "results/$suite" >/dev/null
    "$tlab" plot "results/$suite" >/dev/null
done
# Which divergences predict negative transfer: pooled over the five study suites.
"$tlab" study results/negative-transfer-{synthetic,surf,amazon,mnist-usps,coil20} --into results/negative-transfer-study >/dev/null
echo "tables, reports and plots written under results/*/"
