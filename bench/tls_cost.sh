#!/usr/bin/env bash
# What TLS costs per token and per hop: `brigade bench latency` on loopback
# (no emulated delay, so only the transport differs), with TLS and with
# --plaintext, interleaved ROUNDS times on the same machine. Prints each run
# and the medians; per hop = (TLS - plaintext) / hops, where a relay token
# crosses 2N client links and a push token N + 1 links.
# Usage: bench/tls_cost.sh [ROUNDS] [SERVERS]   (build/brigade must exist)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
servers=${2:-4}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < rounds; ++r)); do
  for transport in tls plaintext; do
    flag=()
    [ "$transport" = plaintext ] && flag=(--plaintext)
    build/brigade bench latency --servers "$servers" --client-rtt-ms 0 --server-rtt-ms 0 \
      --tokens 40 --json "${flag[@]}" | tee -a "$out"
  done
done
python3 - "$out" "$servers" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
med = lambda t, k: statistics.median(r[k] for r in runs if r["transport"] == t)
for mode, hops in (("relay_ms", 2 * n), ("push_ms", n + 1)):
    tls, plain = med("tls", mode), med("plaintext", mode)
    print(f"{mode[:-3]:5}: TLS {tls:.3f} ms/token, plaintext {plain:.3f} ms/token, "
          f"ratio {tls / plain:.3f}, per hop {1000 * (tls - plain) / hops:+.0f} us")
PY
