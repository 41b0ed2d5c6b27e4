#!/usr/bin/env bash
# Builds the `fuzz` preset (clang, libFuzzer, ASan + UBSan; only the fuzz targets) and runs each
# fuzzer for SECONDS (default 20) from the generated seed corpus. A crash fails the script and
# leaves its reproducer in build/fuzz/findings/ (replay: build/fuzz/fuzz/TARGET FILE).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 1; }
targets=(fuzz_protocol_decode fuzz_peer_channel fuzz_signal_channel fuzz_rendezvous_handle
         fuzz_stun_message fuzz_ticket)
# Which seed directory each target starts from (written by fuzz_seeds).
declare -A seeds=([fuzz_protocol_decode]=protocol [fuzz_peer_channel]=peer [fuzz_signal_channel]=signal
                  [fuzz_rendezvous_handle]=handle [fuzz_stun_message]=stun [fuzz_ticket]=ticket)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}" fuzz_seeds

out=build/fuzz
rm -rf "$out/seeds"
"$out/fuzz/fuzz_seeds" "$out/seeds"
mkdir -p "$out/findings"
for t in "${targets[@]}"; do
    corpus="$out/corpus/$t"  # grows across runs; seeds are read, never written
    mkdir -p "$corpus"
    echo "fuzz.sh: $t for ${seconds}s" >&2
    "$out/fuzz/$t" -max_total_time="$seconds" -max_len=512 -print_final_stats=1 \
        -artifact_prefix="$out/findings/$t-" "$corpus" "$out/seeds/${seeds[$t]}" \
        2>"$out/$t.log" || { tail -n 60 "$out/$t.log" >&2; echo "fuzz.sh: $t FAILED" >&2; exit 1; }
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$out/$t.log" | tr '\n' ' ' >&2
    echo >&2
done
echo "fuzz.sh: no crash in ${#targets[@]} targets, ${seconds}s each" >&2
