#!/usr/bin/env bash
# Brigade's engine beside llama.cpp on the same weights, interleaved round by
# round (the machine is shared and its bandwidth drifts: only same-run ratios
# mean something). Benchmark tooling only; tests never run it.
#
# usage: bench/engine_vs_llamacpp.sh [ROUNDS=3] [THREADS=2]
# Makes (once) two random Llamas of dim 1024, 12 layers, vocab 32000 under
# $BENCH_DIR (default /tmp/brigade-engine-bench): f32 and bf16. Pairs:
#   brigade f32  (f32 checkpoint)          vs llama.cpp F32
#   brigade bf16 (bf16 checkpoint)         vs llama.cpp F16 (same checkpoint)
#   brigade int8 (--quant int8 of the f32) vs llama.cpp Q8_0
#   brigade int4 (--quant int4 of the f32) vs llama.cpp Q4_0
# Both engines: decode ms/token (median of steps after a 1-token prompt),
# prefill tokens/s of a 256-token prompt, peak RSS. llama.cpp comes from
# ../shared/bench/llamacpp/llamacpp.sh (node-llama-cpp's CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
THREADS=${2:-2}
DIR=${BENCH_DIR:-/tmp/brigade-engine-bench}
LLAMA=../shared/bench/llamacpp/llamacpp.sh
B=build/brigade
mkdir -p "$DIR"
for dtype in f32 bf16; do
  [ -f "$DIR/$dtype/config.json" ] || "$B" make-model --out "$DIR/$dtype" --layers 12 --hidden 1024 \
    --intermediate 2816 --heads 16 --kv-heads 16 --vocab 32000 --max-position 1024 --dtype "$dtype" \
    --no-tokenizer >/dev/null
done
OUT=$DIR/results.jsonl
: > "$OUT"
pairs=("f32 f32 F32" "bf16 bf16 F16" "int8 f32 Q8_0" "int4 f32 Q4_0")
for round in $(seq "$ROUNDS"); do
  for pair in "${pairs[@]}"; do
    read -r format model type <<<"$pair"
    "$B" bench engine --model "$DIR/$model" --format "$format" --threads "$THREADS" --tokens 96 \
      --prompt 256 --json | sed "s/^{/{\"engine\":\"brigade\",\"pair\":\"$format\",\"round\":$round,/" >> "$OUT"
    decode=$("$LLAMA" "$DIR/$model" --type "$type" --threads "$THREADS" --prompt-ids 1 --new 96)
    prefill=$("$LLAMA" "$DIR/$model" --type "$type" --threads "$THREADS" --prompt-len 256 --new 1)
    python3 - "$format" "$round" "$decode" "$prefill" >> "$OUT" <<'PY'
import json, sys
fmt, rnd, d, p = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(json.dumps({"engine": "llama.cpp", "pair": fmt, "round": rnd,
                  "decode_ms": d["timings"]["step_ms_median"],
                  "prefill_tok_s": p["timings"]["prefill_tok_s"],
                  "peak_rss_mib": max(d["max_rss_kb"], p["max_rss_kb"]) / 1024}))
PY
  done
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| format (Brigade vs llama.cpp) | Brigade decode ms | llama.cpp decode ms | ratio | Brigade prefill tok/s | llama.cpp prefill tok/s | Brigade RSS MiB | llama.cpp RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
names = {"f32": "f32 vs F32", "bf16": "bf16 vs F16", "int8": "int8 vs Q8_0", "int4": "int4 vs Q4_0"}
for fmt in ["f32", "bf16", "int8", "int4"]:
    def med(engine, key):
        return statistics.median(r[key] for r in rows if r["pair"] == fmt and r["engine"] == engine)
    b, l = med("brigade", "decode_ms"), med("llama.cpp", "decode_ms")
    print(f"| {names[fmt]} | {b:.2f} | {l:.2f} | {b / l:.2f} | {med('brigade', 'prefill_tok_s'):.0f} | "
          f"{med('llama.cpp', 'prefill_tok_s'):.0f} | {med('brigade', 'peak_rss_mib'):.0f} | "
          f"{med('llama.cpp', 'peak_rss_mib'):.0f} |")
PY
