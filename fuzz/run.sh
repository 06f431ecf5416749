#!/usr/bin/env bash
# Fuzzes one target, minimizes what it kept into fuzz/corpus/<target>/, and adds the run's
# seconds and executions (libFuzzer's closing "Done N runs in S second(s)") to the target's
# totals in fuzz/runs.json. Each run starts from the corpus the runs before it left; when a
# target's check changes, delete its entry so that the totals count only runs of the new one.
#   bash fuzz/run.sh <target> [seconds=600] [max_len=4096]
# Needs cargo-fuzz and the nightly toolchain. A crash stops it before anything is recorded;
# the input is in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
target=$1 seconds=${2:-600} max_len=${3:-4096}
work=${FUZZ_WORK:-/tmp/annals-fuzz}/$target
log=$work.log
rm -rf "$work" && mkdir -p "$work" "corpus/$target"
cp -r "corpus/$target/." "$work/"

cargo +nightly fuzz run "$target" "$work" -- \
  -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 >"$log" 2>&1 \
  || { tail -40 "$log"; echo "fuzz run failed: see $log" >&2; exit 1; }
done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
echo "$done_line"

# Keep a small set of inputs that reaches every edge the whole run reached (edges only, not
# hit counts: that keeps a few hundred files instead of thousands), plus the crash inputs.
min=$work.min && rm -rf "$min" && mkdir -p "$min"
cargo +nightly fuzz run "$target" "$min" "$work" -- -merge=1 -use_counters=0 -max_len="$max_len" \
  >"$work.merge.log" 2>&1
cp "corpus/$target"/crash-* "$min/" 2>/dev/null || true
rm -rf "corpus/$target" && mkdir -p "corpus/$target" && cp -r "$min/." "corpus/$target/"
echo "corpus/$target: $(ls "corpus/$target" | wc -l) files"

DONE="$done_line" TARGET="$target" MAX_LEN="$max_len" node -e '
  const fs = require("fs");
  const [, execs, secs] = process.env.DONE.match(/^Done (\d+) runs in (\d+) second/);
  const runs = fs.existsSync("runs.json") ? JSON.parse(fs.readFileSync("runs.json", "utf8")) : {};
  const before = runs[process.env.TARGET] ?? { secondsFuzzed: 0, execs: 0, runs: 0 };
  runs[process.env.TARGET] = { secondsFuzzed: before.secondsFuzzed + +secs, execs: before.execs + +execs,
    runs: (before.runs ?? 1) + 1, maxLen: +process.env.MAX_LEN, date: new Date().toISOString().slice(0, 10) };
  const lines = Object.keys(runs).sort().map((t) => `  "${t}": ${JSON.stringify(runs[t])}`);
  fs.writeFileSync("runs.json", `{\n${lines.join(",\n")}\n}\n`);'
cat runs.json
