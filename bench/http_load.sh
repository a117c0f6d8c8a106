#!/usr/bin/env bash
# HTTP load benchmark of `fulcrum serve` with wrk, on loopback, bounded in time.
#
#   bench/http_load.sh [--strict] [--days D] [--scale X] [--seconds S]
#                      [--connections C] [--ingest-connections C] [--batches N]
#
# Builds Release, makes a demo store (fulcrum gen + ingest, which judges),
# creates an admin token, starts `fulcrum serve` on 127.0.0.1 port 0 with 2
# worker threads and measures, each against a reference measured in the same
# run:
#   (a) cached KPI reads, GET /v1/kpi?by=city&kpi=on_time_rate,late_rate
#       (target >= 20,000 req/s, p99 < 20 ms); reference: GET /health on the
#       same server, the floor of the HTTP stack;
#   (b) event ingest, POST /v1/events in batches of 1,000 new canonical
#       events (target >= 100,000 events/s), then checks no error and no
#       lost event (the store's event count against what the server said it
#       accepted); reference: `fulcrum ingest` of the same number of events
#       from a JSON Lines file. The batches are judged in the background
#       (judge=1): after wrk, the script waits for the judge's queue to drain
#       (GET /metrics), prints how long judging lagged behind the ingest and
#       the orders judged per second, and checks every posted order was
#       judged (the store's judged_seq mark at its last record, and the
#       judge's order count). FC_JUDGE=0 in the environment posts with
#       judge=0 instead (ingest alone, for comparison).
# Prints PASS/FAIL per target; exits non-zero on FAIL only with --strict.
# bench/README.md ("HTTP load") explains the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

strict=0 days=7 scale=default seconds=10 conns=64 iconns=4 ref_batches=200
while [ $# -gt 0 ]; do
    case "$1" in
    --strict) strict=1 ;;
    --days) days=$2; shift ;;
    --scale) scale=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --connections) conns=$2; shift ;;
    --ingest-connections) iconns=$2; shift ;;
    --batches) ref_batches=$2; shift ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "http_load.sh: unknown option '$1' (--help)" >&2; exit 1 ;;
    esac
    shift
done

scripts/deps.sh bench
if [ -n "${FULCRUM_BIN:-}" ]; then
    bin=$FULCRUM_BIN # a Release binary built elsewhere
else
    cmake --preset release >/dev/null
    cmake --build --preset release >/dev/null
    bin=$PWD/build/release/fulcrum
fi

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

db=$work/fulcrum.db
echo "== store: fulcrum gen --seed 1 --days $days --scale $scale, ingested (and judged)"
"$bin" gen --seed 1 --days "$days" --scale "$scale" --out "$work/world" >/dev/null 2>&1
"$bin" ingest --db "$db" "$work"/world/{cities,zones,merchants,riders,orders}.csv "$work"/world/events.jsonl >/dev/null 2>"$work/ingest.err" ||
    { cat "$work/ingest.err" >&2; exit 1; }
orders=$(sqlite3 "$db" "SELECT count(*) FROM record WHERE order_id IS NOT NULL")
echo "   $orders order records, $(sqlite3 "$db" "SELECT sum(n_events) FROM record") events"
token=$("$bin" token create --db "$db" --name bench-admin --role admin 2>/dev/null)

"$bin" serve --db "$db" --listen 127.0.0.1:0 --threads 2 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$work/serve.out" 2>/dev/null && break
    sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/serve.out" | head -n 1)
[ -n "$base" ] || { echo "the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "== server: fulcrum serve --listen 127.0.0.1:0 --threads 2 on $base (pid $server)"

fails=0
verdict() { # name ok(1/0) text
    if [ "$2" = 1 ]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
field() { # line key
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' && echo 1 || echo 0; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }' && echo 1 || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

run_wrk() { # label script url [wrk options]
    local label=$1 script=$2 url=$3
    shift 3
    FC_LABEL=$label FC_TOKEN=$token wrk --latency -t2 -d"${seconds}s" --timeout 10s "$@" \
        -s "$script" "$url" >"$work/wrk-$label.out" 2>&1 || true
    grep '^FC_WRK ' "$work/wrk-$label.out" || { cat "$work/wrk-$label.out" >&2; echo "FC_WRK none"; }
}

# (a) Cached KPI reads against the HTTP floor.
kpi_url="$base/v1/kpi?by=city&kpi=on_time_rate,late_rate"
curl -fsS -H "Authorization: Bearer $token" "$kpi_url" >"$work/kpi.json" # loads the fact table
echo "== (a) GET /v1/kpi?by=city&kpi=on_time_rate,late_rate: $(wc -c <"$work/kpi.json") bytes," \
    "$seconds s, 2 wrk threads, $conns connections"
health=$(run_wrk health bench/http_kpi.lua "$base/health" -c"$conns")
kpi=$(run_wrk kpi bench/http_kpi.lua "$kpi_url" -c"$conns")
echo "   reference $health"
echo "   fulcrum   $kpi"
h_rps=$(field "$health" rps) k_rps=$(field "$kpi" rps) k_p99=$(field "$kpi" p99_ms)
k_err=$(($(field "$kpi" non2xx) + $(field "$kpi" socket_errors)))
echo "   KPI reads: $k_rps req/s = $(ratio "$k_rps" 20000)x the target 20,000," \
    "$(ratio "$k_rps" "$h_rps")x GET /health ($h_rps req/s); p99 $k_p99 ms =" \
    "$(ratio "$k_p99" 20)x the 20 ms bound"
verdict "kpi-throughput" "$(ge "$k_rps" 20000)" "$k_rps req/s (target >= 20,000)"
verdict "kpi-p99" "$(lt "$k_p99" 20)" "p99 $k_p99 ms (target < 20 ms)"
verdict "kpi-errors" "$([ "$k_err" = 0 ] && echo 1 || echo 0)" "$k_err non-2xx or socket errors"

# (b) Event ingest over HTTP against `fulcrum ingest` of the same events.
# 125 delivered orders of 8 events each; "@" becomes each batch's prefix
# and "%T<s>%" the batch's base instant + s: every batch is a later hour of
# the stream (t0_events, then 4,000 s apart), as an app's events are, so a
# rider carries one order at a time and orders of the same rider do not
# pile up at one instant across batches.
t0_events=1773187200 # 2026-03-11T00:00:00Z, after the demo week
awk -v n=125 'BEGIN {
    printf "[";
    split("olaya kafd al_malaz al_nakheel al_yasmin", zones, " ");
    for (i = 1; i <= n; i++) {
        o = sprintf("BENCH-@-%04d", i); t = i * 37; z = zones[1 + i % 5];
        r = sprintf("ryd-r%04d", 1 + i % 400); m = sprintf("ryd-m%04d", 1 + i % 300);
        ev[1] = sprintf("{\"id\":\"%s-c\",\"type\":\"order_created\",\"ts\":%%T%d%%,\"order\":\"%s\",\"city\":\"riyadh\",\"zone\":\"%s\",\"merchant\":\"%s\",\"customer\":\"ryd-c%05d\",\"category\":\"food\",\"promised_at\":%%T%d%%,\"est_ready_at\":%%T%d%%,\"distance_m\":2200,\"customer_lat\":24.6911,\"customer_lng\":46.6853,\"merchant_lat\":24.7012,\"merchant_lng\":46.6744,\"amount\":\"64.50\",\"currency\":\"SAR\"}", o, t, o, z, m, i, t + 2400, t + 1020);
        ev[2] = sprintf("{\"id\":\"%s-p\",\"type\":\"order_pushed\",\"ts\":%%T%d%%,\"order\":\"%s\",\"rider\":\"%s\"}", o, t + 40, o, r);
        ev[3] = sprintf("{\"id\":\"%s-a\",\"type\":\"order_accepted\",\"ts\":%%T%d%%,\"order\":\"%s\",\"rider\":\"%s\",\"lat\":24.6950,\"lng\":46.6801}", o, t + 70, o, r);
        ev[4] = sprintf("{\"id\":\"%s-m\",\"type\":\"rider_arrived_merchant\",\"ts\":%%T%d%%,\"order\":\"%s\",\"rider\":\"%s\",\"lat\":24.7012,\"lng\":46.6744}", o, t + 840, o, r);
        ev[5] = sprintf("{\"id\":\"%s-r\",\"type\":\"order_ready\",\"ts\":%%T%d%%,\"order\":\"%s\"}", o, t + 1000, o);
        ev[6] = sprintf("{\"id\":\"%s-u\",\"type\":\"order_picked_up\",\"ts\":%%T%d%%,\"order\":\"%s\",\"rider\":\"%s\",\"lat\":24.7012,\"lng\":46.6744}", o, t + 1130, o, r);
        ev[7] = sprintf("{\"id\":\"%s-d\",\"type\":\"rider_arrived_customer\",\"ts\":%%T%d%%,\"order\":\"%s\",\"rider\":\"%s\",\"lat\":24.6912,\"lng\":46.6852}", o, t + 1750, o, r);
        ev[8] = sprintf("{\"id\":\"%s-x\",\"type\":\"order_delivered\",\"ts\":%%T%d%%,\"order\":\"%s\",\"rider\":\"%s\",\"lat\":24.6911,\"lng\":46.6853,\"proof\":\"photo\",\"cost\":\"14.00\",\"currency\":\"SAR\"}", o, t + 1860, o, r);
        for (k = 1; k <= 8; k++) printf "%s%s", (i == 1 && k == 1) ? "" : ",\n", ev[k];
    }
    printf "]\n";
}' >"$work/batch.json"

# The reference: the same events, ref_batches batches of them, from a file,
# each batch at its own hour as the requests' are (http_events.lua).
awk -v batches="$ref_batches" -v t0="$t0_events" '
    { line[NR] = $0 }
    END {
        for (b = 1; b <= batches; b++) {
            base = t0 + b * 4000;
            for (k = 1; k <= NR; k++) {
                s = line[k];
                sub(/^\[/, "", s); sub(/,$/, "", s); sub(/\]$/, "", s);
                gsub(/@/, "ref-" b, s);
                out = "";
                while (match(s, /%T[0-9]+%/)) {
                    out = out substr(s, 1, RSTART - 1) (base + substr(s, RSTART + 2, RLENGTH - 3));
                    s = substr(s, RSTART + RLENGTH);
                }
                print out s;
            }
        }
    }' "$work/batch.json" >"$work/ref.jsonl"
ref_events=$(wc -l <"$work/ref.jsonl")
cp "$db" "$work/ref.db"
t0=$(date +%s.%N)
"$bin" ingest --db "$work/ref.db" "$work/ref.jsonl" >/dev/null 2>"$work/ref.err" ||
    { cat "$work/ref.err" >&2; exit 1; }
t1=$(date +%s.%N)
ref_rate=$(awk -v n="$ref_events" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
rm -f "$work/ref.db"*
sync # the reference's writes reach the disk now, not during the measurement

metric() { # name: its value on GET /metrics
    curl -fsS "$base/metrics" | sed -n "s/^$1 //p"
}
before=$(sqlite3 "$db" "SELECT coalesce(sum(n_events), 0) FROM record")
judged_before=$(metric fulcrum_judge_orders_total)
echo "== (b) POST /v1/events, batches of 1,000 new events, $seconds s, 2 wrk threads," \
    "$iconns connections"
ing=$(FC_TEMPLATE=$work/batch.json FC_RUN=w$$ FC_T0=$t0_events run_wrk events bench/http_events.lua \
    "$base" -c"$iconns")
# Requests still in flight when wrk stops may land after it: wait for quiet.
sleep 2
after=$(sqlite3 "$db" "SELECT coalesce(sum(n_events), 0) FROM record")
# The background judge: wait (at most 10 minutes) until its queue is empty.
drain_t0=$(date +%s.%N)
lag_at_end=$(metric fulcrum_judge_lag_seconds)
for _ in $(seq 1 6000); do
    [ "$(metric fulcrum_judge_queue_orders)" = 0 ] && [ "$(metric fulcrum_judge_queue_all)" = 0 ] &&
        [ "$(metric fulcrum_judge_lag_seconds)" = 0.000 ] && break
    sleep 0.1
done
drain_t1=$(date +%s.%N)
drain_s=$(awk -v a="$drain_t0" -v b="$drain_t1" 'BEGIN { printf "%.1f", b - a + 2 }')
judged=$(($(metric fulcrum_judge_orders_total) - judged_before))
runs=$(metric fulcrum_judge_runs_total) jfail=$(metric fulcrum_judge_failures_total)
mark=$(sqlite3 "$db" "SELECT coalesce((SELECT value FROM mark WHERE name = 'judged_seq'), -1)")
max_seq=$(sqlite3 "$db" "SELECT coalesce(max(seq), 0) FROM record")
echo "   fulcrum   $ing"
echo "   reference fulcrum ingest of $ref_events events from a file: $ref_rate events/s"
i_rate=$(field "$ing" events_per_s) i_acc=$(field "$ing" accepted)
i_err=$(($(field "$ing" non2xx) + $(field "$ing" socket_errors) + $(field "$ing" rejected)))
stored=$((after - before))
echo "   ingest: $i_rate events/s = $(ratio "$i_rate" 100000)x the target 100,000," \
    "$(ratio "$i_rate" "$ref_rate")x fulcrum ingest from a file; accepted $i_acc," \
    "stored $stored, duplicates $(field "$ing" duplicates)"
verdict "ingest-throughput" "$(ge "$i_rate" 100000)" "$i_rate events/s (target >= 100,000)"
verdict "ingest-errors" "$([ "$i_err" = 0 ] && echo 1 || echo 0)" \
    "$i_err non-2xx, socket errors or rejected events"
# Every event the server said it accepted is in the store; more is only
# the batches answered after wrk stopped listening.
verdict "ingest-no-loss" "$([ "$stored" -ge "$i_acc" ] && echo 1 || echo 0)" \
    "$stored events stored, $i_acc accepted in the answers wrk read"
posted_orders=$((stored / 8))
wrk_s=$(field "$ing" seconds)
echo "   background judge: lag $lag_at_end s when wrk stopped; drained $drain_s s after it" \
    "(2 s of it the wait for quiet); $judged orders judged in $runs runs," \
    "$(awk -v n="$judged" -v a="$wrk_s" -v b="$drain_s" 'BEGIN { printf "%.0f", n / (a + b) }')" \
    "orders/s over ingest and drain; $jfail failed runs; mark $mark, last record $max_seq"
if [ "${FC_JUDGE:-1}" = 0 ]; then
    echo "   FC_JUDGE=0: the batches were posted with judge=0, not judged"
else
    verdict "judge-all" \
        "$([ "$mark" = "$max_seq" ] && [ "$judged" -ge "$posted_orders" ] && echo 1 || echo 0)" \
        "mark $mark = last record $max_seq, $judged orders judged >= $posted_orders posted"
fi

if [ "$fails" -gt 0 ]; then
    echo "$fails target(s) missed"
    [ "$strict" = 1 ] && exit 1
fi
exit 0
