#!/usr/bin/env bash
# End-to-end checks of the hsr executable: help, version, a tiny bench producing valid JSON
# rows, and one-line "hsr: error: ... expected ..." messages with a non-zero exit on bad input.
# Usage: bash cli/cli_test.sh path/to/hsr
set -u
HSR="$(readlink -f "${1:?usage: cli_test.sh path/to/hsr}")"
fails=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

# expect_ok NAME ARGS...: exit 0.
expect_ok() {
  local name="$1"; shift
  if "$HSR" "$@" >"$tmp/out" 2>"$tmp/err"; then pass "$name"; else
    fail "$name: exit $? for: hsr $* ($(head -c 300 "$tmp/err"))"; fi
}

# expect_error NAME ARGS...: non-zero exit, stderr exactly one line "hsr: error: ...expected...".
expect_error() {
  local name="$1"; shift
  "$HSR" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [[ $rc -eq 0 ]]; then fail "$name: exit 0 for: hsr $*"; return; fi
  if [[ $rc -ge 128 ]]; then fail "$name: crashed (exit $rc) for: hsr $*"; return; fi
  if [[ $lines -ne 1 ]]; then fail "$name: expected 1 stderr line, got $lines: $(cat "$tmp/err")"; return; fi
  if ! grep -q '^hsr: error: .*expected' "$tmp/err"; then
    fail "$name: stderr lacks 'hsr: error: ...expected': $(cat "$tmp/err")"; return; fi
  pass "$name (exit $rc): $(cat "$tmp/err")"
}

# Help and version.
expect_ok "--help" --help
grep -q "bench decode" "$tmp/out" && grep -q "Examples" "$tmp/out" || fail "--help lacks commands/examples"
expect_ok "--version" --version
grep -q "^hsr .*commit .*Highway target" "$tmp/out" || fail "--version: $(cat "$tmp/out")"
expect_ok "bench decode --help" bench decode --help
for flag in --workload --n --d --threads --backend --repeats --cold --format --save-output \
            --budget --ci-width --target; do
  grep -q -- "$flag" "$tmp/out" || fail "bench decode --help lacks $flag"
done
grep -q "CLFLUSHOPT" "$tmp/out" || fail "bench decode --help does not say how cold is made"
grep -q "default" "$tmp/out" || fail "bench decode --help lists no defaults"

# A tiny run with both dense backends: one valid JSON row per backend.
expect_ok "tiny bench json" bench decode --n 256 --d 16 --repeats 2 --backend dense-ref,dense-hwy \
  --format json --save-output "$tmp/o"
rows=$(grep -c '^{' "$tmp/out")
[[ $rows -eq 2 ]] || fail "tiny bench: expected 2 rows, got $rows"
if [[ -x /usr/bin/python3 ]]; then
  /usr/bin/python3 - "$tmp/out" <<'PY' || fail "tiny bench: rows failed the JSON checks"
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["backend"] for r in rows] == ["dense-ref", "dense-hwy"], rows
for r in rows:
    for k in ("commit", "host", "cpu_target", "threads", "workload", "seed", "n", "m", "d", "dv",
              "heads", "alpha", "attention", "median_us", "p10_us", "p90_us", "gbs",
              "roofline_frac", "max_abs_err", "rel_l2_err", "empty_rows", "fallbacks", "speedup"):
        assert k in r, k
    assert r["n"] == 256 and r["d"] == 16 and r["m"] == 1
    assert r["p10_us"] <= r["median_us"] <= r["p90_us"], r
    assert r["median_us"] > 0 and r["gbs"] > 0
    assert r["max_abs_err"] < 1e-4 and r["rel_l2_err"] < 1e-4, r
PY
else
  grep -q '"max_abs_err":' "$tmp/out" || fail "tiny bench: no max_abs_err"
fi
for b in dense-ref dense-hwy; do
  [[ -s "$tmp/o.$b.npy" ]] && head -c 6 "$tmp/o.$b.npy" | grep -q NUMPY || fail "no $tmp/o.$b.npy"
done
# The optional OpenBLAS peer (sim/peers/dense_blas.cc), only when this build has it: decode and a
# causal prefill, softmax and relu, each within a small error of the float64 oracle.
if "$HSR" bench decode --help 2>/dev/null | grep -q "dense-blas" ||
   "$HSR" bench decode --n 8 --d 4 --repeats 1 --backend dense-blas >/dev/null 2>&1; then
  for mode in "decode --attention softmax" "decode --attention relu" "prefill --m 64 --causal on"; do
    # shellcheck disable=SC2086
    expect_ok "dense-blas $mode" bench $mode --n 256 --d 16 --repeats 1 \
      --backend dense-ref,dense-blas --format json
    if [[ -x /usr/bin/python3 ]]; then
      /usr/bin/python3 - "$tmp/out" <<'PY' || fail "dense-blas $mode: error too large"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
assert [r["backend"] for r in rows] == ["dense-ref", "dense-blas"], rows
for r in rows:
    assert r["max_abs_err"] < 1e-4 and r["rel_l2_err"] < 1e-4, r
PY
    fi
  done
else
  echo "skip: dense-blas not built (no OpenBLAS)"
fi
expect_ok "tiny bench table relu" bench decode --n 128 --d 8 --repeats 1 --backend dense-ref \
  --attention relu --alpha 2 --b 0.1 --cold off
grep -q "^dense-ref" "$tmp/out" || fail "table lacks a dense-ref row: $(cat "$tmp/out")"
expect_ok "tiny bench prefill" bench prefill --n 64 --m 16 --d 8 --repeats 1 --causal on \
  --backend dense-ref --cold off

# The causal mask: a recording's own by default (decode with m > 1 too), --causal on|off
# overrides it for any workload; every row records the mask and where it came from.
testdata="$(dirname "$0")/../sim/workload/io/testdata"
causal_case() {  # causal_case NAME WANT_CAUSAL WANT_SOURCE ARGS...
  local name="$1" want="$2" source="$3"; shift 3
  expect_ok "$name" bench "$@" --backend dense-ref,dense-hwy --repeats 1 --cold off --format json
  if [[ -x /usr/bin/python3 ]]; then
    /usr/bin/python3 - "$tmp/out" "$want" "$source" <<'PY' || fail "$name: rows $(head -c 300 "$tmp/out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
assert len(rows) == 2, rows
for r in rows:
    assert r["causal"] == (sys.argv[2] == "true") and r["causal_source"] == sys.argv[3], r
    assert r["max_abs_err"] < 1e-4, r
PY
  else
    grep -q "\"causal\":$want,\"causal_source\":\"$source\"" "$tmp/out" || fail "$name: $(head -c 300 "$tmp/out")"
  fi
}
causal_case "causal: the recording's, decode m=4" true workload \
  decode --workload "npy:$testdata/tinylm-code-12-f32,m=4"
causal_case "causal: the recording's, prefill" true workload \
  prefill --workload "npy:$testdata/tinylm-code-12-f32,m=all"
causal_case "causal off overrides the recording" false flag \
  decode --workload "npy:$testdata/tinylm-code-12-f32,m=4" --causal off
causal_case "causal: generated default" false default decode --n 64 --d 8 --m 4
causal_case "causal on for generated decode" true flag decode --n 64 --d 8 --m 4 --causal on
# The recording's scale too (a copy of the slice whose manifest says 0.5), unless --scale is given.
cp -r "$testdata/tinylm-code-12-f32" "$tmp/scaled"
sed -i 's/"scale": 0.125/"scale": 0.5/' "$tmp/scaled/manifest.json"
expect_ok "scale from the recording" bench prefill --workload "npy:$tmp/scaled,m=all" \
  --backend dense-ref --repeats 1 --cold off --format json
grep -q '"scale":0.5,' "$tmp/out" || fail "scale from the recording: $(head -c 400 "$tmp/out")"
expect_ok "--scale overrides the recording" bench prefill --workload "npy:$tmp/scaled,m=all" \
  --backend dense-ref --repeats 1 --cold off --format json --scale 0.25
grep -q '"scale":0.25,' "$tmp/out" || fail "--scale override: $(head -c 400 "$tmp/out")"
expect_ok "causal table line" bench decode --workload "npy:$testdata/tinylm-code-12-f32,m=4" \
  --backend dense-ref --repeats 1 --cold off
grep -q "^# causal mask: on, bottom-right aligned (the recording's own" "$tmp/out" ||
  fail "causal table line: $(cat "$tmp/out")"

# Bad input: one line, names what was expected.
small=(--n 64 --d 8 --repeats 1 --cold off)
expect_error "causal maybe" bench decode "${small[@]}" --causal maybe
grep -qF -- "--causal: expected one of on, off, got 'maybe'" "$tmp/err" || fail "causal message"
expect_error "causal empty" bench prefill "${small[@]}" --causal ''
expect_error "causal without a value" bench prefill "${small[@]}" --causal
expect_error "prefill-report bogus" bench prefill "${small[@]}" --prefill-report rows
grep -qF -- "--prefill-report: expected one of auto, batch, index, got 'rows'" "$tmp/err" ||
  fail "prefill-report message: $(cat "$tmp/err")"
expect_error "prefill-report in decode" bench decode "${small[@]}" --prefill-report batch
# Both reports of a softmax prefill: the same sets (reported mean), each path named.
for how in batch index; do
  expect_ok "prefill-report $how" bench prefill --n 256 --m 64 --d 16 --repeats 1 --cold off \
    --causal on --backend hsr-cpu --prefill-report "$how"
  grep -o "reported mean [0-9.]*" "$tmp/out" > "$tmp/reported.$how"
  want="by one index query per row"; [[ $how == batch ]] && want="by the batched integer screen"
  grep -qF "$want" "$tmp/out" || fail "prefill-report $how: no '$want' in: $(cat "$tmp/out")"
done
cmp -s "$tmp/reported.batch" "$tmp/reported.index" && [[ -s "$tmp/reported.batch" ]] ||
  fail "prefill-report batch vs index: $(cat "$tmp/reported.batch") vs $(cat "$tmp/reported.index")"
expect_error "alpha 1.5" bench decode "${small[@]}" --attention relu --alpha 1.5
grep -q "expected an integer alpha >= 1" "$tmp/err" && grep -q "got 1.5" "$tmp/err" || fail "alpha message"
expect_error "alpha 0" bench decode "${small[@]}" --attention relu --alpha 0
expect_error "scale 0" bench decode "${small[@]}" --scale 0
expect_error "scale -1" bench decode "${small[@]}" --scale -1
expect_error "scale nan" bench decode "${small[@]}" --scale nan
expect_error "scale inf" bench decode "${small[@]}" --scale inf
expect_error "d 0" bench decode --n 64 --d 0
expect_error "n 0" bench decode --n 0 --d 8
expect_error "n abc" bench decode --n abc
expect_error "threads 0" bench decode "${small[@]}" --threads 0
expect_error "repeats 0" bench decode --n 64 --d 8 --repeats 0
expect_error "unknown backend" bench decode "${small[@]}" --backend dense-ref,nosuch
expect_error "unknown workload kind" bench decode --workload nosuch:n=4
expect_error "unknown workload key" bench decode --workload gaussian:n=4,zz=1
expect_error "malformed spec" bench decode --workload gaussian:n
expect_error "spec n=0" bench decode --workload gaussian:n=0,d=8
expect_error "format xml" bench decode "${small[@]}" --format xml
expect_error "cold maybe" bench decode --n 64 --d 8 --cold maybe
expect_error "attention foo" bench decode "${small[@]}" --attention foo
expect_error "unknown flag" bench decode --frobnicate
expect_error "missing value" bench decode --n
expect_error "stray positional" bench decode extra
expect_error "unknown command" frobnicate
expect_error "bench without mode" bench
expect_error "bench bad mode" bench nosuch
expect_error "heads not multiple" bench decode "${small[@]}" --heads 3 --kv-heads 2
expect_error "target unknown" bench decode "${small[@]}" --target avx9
grep -q "got 'avx9'" "$tmp/err" || fail "target unknown message: $(cat "$tmp/err")"
expect_error "target not in this Highway" bench decode "${small[@]}" --target avx2,avx3_zen4
grep -q "not compiled in this Highway" "$tmp/err" || fail "avx3_zen4 message: $(cat "$tmp/err")"
expect_error "target twice" bench decode "${small[@]}" --target avx2,avx2
expect_error "budget 0" bench decode "${small[@]}" --budget 0
expect_error "budget -1" bench decode "${small[@]}" --budget -1
expect_error "budget abc" bench decode "${small[@]}" --budget abc
expect_error "ci-width 0" bench decode "${small[@]}" --ci-width 0
expect_error "ci-width 1" bench decode "${small[@]}" --ci-width 1
expect_error "ci-width 1.5" bench decode "${small[@]}" --ci-width 1.5
# A row records the target asked for and the one that ran (each target of the list). alt: the
# first of these this build and CPU run (the asan preset compiles EMU128/SCALAR and AVX2 only).
alt=""
for t in sse4 avx2 scalar emu128; do
  if "$HSR" bench decode --n 8 --d 4 --repeats 1 --budget 0.01 --target "$t" >/dev/null 2>&1; then
    alt=$t; break
  fi
done
[[ -n "$alt" ]] || fail "no target of sse4, avx2, scalar, emu128 runs here"
expect_ok "bench two targets" bench decode --n 256 --d 16 --repeats 6 --budget 0.2 \
  --backend dense-ref,dense-hwy --target "best,$alt" --format json
if [[ -x /usr/bin/python3 ]]; then
  /usr/bin/python3 - "$tmp/out" "$alt" <<'PY' || fail "bench two targets: rows failed the checks"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
alt = sys.argv[2]
assert [r["target"] for r in rows] == ["best", "best", alt, alt], rows
assert all(r["cpu_target"] == alt.upper() for r in rows[2:]), rows
for r in rows:
    assert r["samples"] >= 6 and r["repeats"] == 6, r
h = rows[1]
assert h["speedup_vs"] == "dense-ref" and h["speedup_lo"] <= h["speedup"] <= h["speedup_hi"], h
PY
fi

# bench index: a tiny run, one JSON row per index (scan first), every core index exact.
expect_ok "bench index json" bench index --n 512 --d 8 --m 8 --repeats 1 --format json
if [[ -x /usr/bin/python3 ]]; then
  /usr/bin/python3 - "$tmp/out" <<'PY' || fail "bench index: rows failed the JSON checks"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = [r["index"] for r in rows]
assert names[:4] == ["scan", "sketch8", "lowrank", "balltree"], names
for r in rows:
    for k in ("n", "m", "d", "threshold", "median_us", "p10_us", "p90_us", "batch_median_us",
              "reported_mean", "candidates_mean", "bytes_read", "build_ms", "memory_bytes",
              "speedup", "exact", "differing_queries"):
        assert k in r, k
    assert r["n"] == 512 and r["m"] == 8 and r["threshold"] == "paper", r
    assert r["index"] == "faiss" or r["exact"], r
PY
fi
expect_ok "bench index table b=" bench index --n 256 --d 4 --m 4 --repeats 1 --index balltree \
  --threshold b=0.25
grep -q "^scan .*exact" "$tmp/out" && grep -q "^balltree .*exact" "$tmp/out" ||
  fail "bench index table: $(cat "$tmp/out")"
expect_error "bench index unknown index" bench index --n 64 --d 8 --index scan,nosuch
grep -q "got 'nosuch'" "$tmp/err" || fail "unknown index message: $(cat "$tmp/err")"
expect_error "bench index threshold" bench index --n 64 --d 8 --threshold paperx
grep -qF "expected b=VALUE|paper|count=K|frac=F|err=E, got 'paperx'" "$tmp/err" ||
  fail "threshold message: $(cat "$tmp/err")"
expect_error "bench index threshold err" bench index --n 64 --d 8 --threshold err=0.01
grep -qF "err= is a softmax policy" "$tmp/err" || fail "err= message: $(cat "$tmp/err")"
expect_error "bench index threshold count > n" bench index --n 64 --d 8 --threshold count=65
# count= and frac= thresholds as hsr-cpu resolves them; every core index still exact.
for policy in count=20 frac=0.05; do
  expect_ok "bench index $policy" bench index --n 300 --d 6 --m 4 --repeats 1 --threshold "$policy"
  grep -q "^# threshold $policy per query" "$tmp/out" && ! grep -q -- "-- FAIL" "$tmp/out" ||
    fail "bench index $policy: $(cat "$tmp/out")"
done
expect_error "bench index threshold nan" bench index --n 64 --d 8 --threshold b=nan
expect_error "bench index repeated" bench index --n 64 --d 8 --index scan,scan

# hsr verify: a small budget passes; an injected fault fails with a reproduce line; bad flags.
expect_ok "verify small" verify --cases 20 --seed 7 --workload planted:n=300,m=8,d=16,r=8
grep -q "all properties passed" "$tmp/out" && grep -q "equals float64 oracle" "$tmp/out" \
  || fail "verify small: $(cat "$tmp/out")"
"$HSR" verify --cases 2 --seed 5 --inject-fault --backend dense-ref >"$tmp/out" 2>"$tmp/err"; rc=$?
[[ $rc -eq 1 ]] && grep -q "reproduce: hsr verify --seed 5 --cases 1 --backend dense-ref" "$tmp/out" \
  || fail "verify --inject-fault: exit $rc, $(head -c 400 "$tmp/out")"
expect_error "verify bad cases" verify --cases x
expect_error "verify bad backend" verify --cases 1 --backend nosuch
expect_error "verify bad workload" verify --cases 1 --workload planted:n=10,r=11
expect_error "verify bad target" verify --cases 1 --target avx9
# Targets this machine cannot run are named as skipped, never counted as passed.
expect_ok "verify targets" verify --cases 2 --target "$alt,avx3_zen4" --index none
grep -q "^skipped: target avx3_zen4: not compiled in this Highway" "$tmp/out" &&
  grep -q "Highway targets checked ${alt^^} " "$tmp/out" && grep -q "^summary: .* skipped 1" "$tmp/out" \
  || fail "verify targets: $(cat "$tmp/out")"

# hsr inspect: table and JSON on generated kinds; recorded testdata; bad specs.
expect_ok "inspect planted" inspect planted:n=512,d=16,r=8,m=8
grep -q "^| 0 | 0 |" "$tmp/out" || fail "inspect planted: no head row: $(cat "$tmp/out")"
expect_ok "inspect sinks json" inspect sinks:n=512,d=16,m=16 --format json
if [[ -x /usr/bin/python3 ]]; then
  /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); h=j["heads"][0]; assert h["sinks"] and h["k_rank99"] >= 1, j' "$tmp/out" \
    || fail "inspect sinks json"
fi
for kind in clustered lowrank gaussian; do
  expect_ok "inspect $kind" inspect $kind:n=256,d=8,m=4
done
expect_ok "inspect recorded" inspect "npy:$testdata/tinylm-code-12-f32"
grep -q "causal=true" "$tmp/out" || fail "inspect recorded: $(cat "$tmp/out")"
expect_error "inspect no spec" inspect
expect_error "inspect unknown key" inspect clustered:n=10,zz=1
expect_error "inspect bad value" inspect lowrank:d=8,rank=9
expect_error "inspect missing dir" inspect npy:/nonexistent
expect_error "inspect format" inspect gaussian:n=8,d=4 --format xml
# keys-needed columns: present for the recorded slice; E outside (0, 1) rejected.
expect_ok "inspect keys for err" inspect "npy:$testdata/tinylm-code-64-f16" --err 0.01
grep -q "keys for err=0.01: tau / sketch / hsr-cpu / true" "$tmp/out" \
  || fail "inspect keys for err: $(cat "$tmp/out")"
expect_error "inspect err range" inspect gaussian:n=8,d=4 --err 1

# hsr sweep: a tiny sweep writes rows, a rerun skips them, bad grids fail before any file.
expect_ok "sweep --help" sweep --help
grep -q "SLURM_ARRAY_TASK_ID" "$tmp/out" && grep -q -- "--grid" "$tmp/out" || fail "sweep --help"
expect_ok "sweep tiny" sweep --n 128,256 --d 8 --attention relu,softmax --repeats 1 --cold off \
  --backend dense-ref,hsr-cpu --out "$tmp/sw"
rows=$(grep -c '"status":"ok"' "$tmp/sw/results.jsonl")
[[ $rows -eq 8 && -s "$tmp/sw/results.csv" && -s "$tmp/sw/sweep.json" ]] \
  || fail "sweep tiny: expected 8 ok rows (4 points x 2 backends), got $rows"
expect_ok "sweep rerun" sweep --n 128,256 --d 8 --attention relu,softmax --repeats 1 --cold off \
  --backend dense-ref,hsr-cpu --out "$tmp/sw"
grep -q "ran 0 point(s).*skipped 4" "$tmp/err" && [[ $(wc -l <"$tmp/sw/results.jsonl") -eq 8 ]] \
  || fail "sweep rerun: $(cat "$tmp/err")"
expect_error "sweep other grid same dir" sweep --n 128 --d 8 --out "$tmp/sw"
echo '{"n": [128], "colour": 1}' >"$tmp/bad.json"
expect_error "sweep bad grid key" sweep --grid "$tmp/bad.json" --out "$tmp/sw2"
echo '{"n": [128' >"$tmp/bad.json"
expect_error "sweep grid not json" sweep --grid "$tmp/bad.json" --out "$tmp/sw2"
expect_error "sweep unknown backend" sweep --n 128 --backend dense-hwy,nosuch --out "$tmp/sw2"
expect_error "sweep unknown workload" sweep --workload nosuch:n=4 --out "$tmp/sw2"
expect_error "sweep bad range" sweep --n 2^9..2^4 --out "$tmp/sw2"
expect_error "sweep bad shard" sweep --n 128 --shard 3/3 --out "$tmp/sw2"
expect_error "sweep causal maybe" sweep --n 128 --causal on,maybe --out "$tmp/sw2"
grep -q "grid: key 'causal': expected values among on, off, got 'maybe'" "$tmp/err" ||
  fail "sweep causal message: $(cat "$tmp/err")"
expect_error "sweep causal vs prefill-causal" sweep --n 128 --mode prefill-causal --causal off \
  --out "$tmp/sw2"
expect_error "sweep unknown target" sweep --n 128 --target avx9 --out "$tmp/sw2"
expect_error "sweep budget 0" sweep --n 128 --budget 0 --out "$tmp/sw2"
expect_error "sweep ci-width 1" sweep --n 128 --ci-width 1 --out "$tmp/sw2"
[[ ! -e "$tmp/sw2" ]] || fail "sweep: a bad grid created the output folder"
expect_ok "sweep causal axis" sweep --n 128 --d 8 --m 4 --causal on,off --repeats 1 --cold off \
  --backend dense-ref --out "$tmp/swc"
[[ $(grep -c '"causal":true,"causal_source":"flag"' "$tmp/swc/results.jsonl") -eq 1 &&
   $(grep -c '"causal":false,"causal_source":"flag"' "$tmp/swc/results.jsonl") -eq 1 ]] ||
  fail "sweep causal axis: $(head -c 600 "$tmp/swc/results.jsonl")"
# The default grid names the recording shipped in the repository by a relative path: no absolute
# path in it, it enumerates from any directory, and a missing folder is one line naming it.
expect_ok "sweep print-grid" sweep --print-grid
grep -q '"fitted:npy:sim/workload/data/tinylm-code-2k-f16,layer=3"' "$tmp/out" ||
  fail "print-grid lacks the shipped recording: $(cat "$tmp/out")"
! grep -q '"/' "$tmp/out" || fail "print-grid has an absolute path: $(grep '"/' "$tmp/out")"
(cd "$tmp" && "$HSR" sweep --list >"$tmp/list" 2>"$tmp/err") &&
  [[ $(wc -l <"$tmp/list") -eq 108 ]] || fail "sweep --list from $tmp: $(head -c 300 "$tmp/err")"
expect_error "sweep missing recording" sweep --out "$tmp/sw3" --n 4096 \
  --workload fitted:npy:sim/workload/data/no-such-recording,layer=3
grep -q "expected sim/workload/data/no-such-recording relative to one of" "$tmp/err" ||
  fail "missing recording message: $(cat "$tmp/err")"
expect_ok "sweep list shard" sweep --quick --list --shard 1/3
[[ $(wc -l <"$tmp/out") -eq 2 ]] || fail "sweep --list --shard 1/3: $(cat "$tmp/out")"

# hsr report: bad folders are one-line errors (exit 2); bench rows make a report; a truncated
# last line is a warning, a malformed line an error naming its line; no gnuplot: one message.
expect_error "report missing dir" report /nonexistent
"$HSR" report /nonexistent >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "report /nonexistent: exit not 2"
expect_error "report no dir" report
mkdir -p "$tmp/rep"
expect_error "report no results.jsonl" report "$tmp/rep"
grep -q "results.jsonl" "$tmp/err" || fail "report no results.jsonl: $(cat "$tmp/err")"
for n in 256 512 1024; do
  "$HSR" bench decode --n $n --d 8 --repeats 1 --cold off --backend dense-hwy,hsr-cpu \
    --attention softmax --threshold paper --format json >>"$tmp/rep/results.jsonl" ||
    fail "report: bench rows for n=$n"
done
printf '{"commit":"abc' >>"$tmp/rep/results.jsonl"  # a sweep killed mid-write
expect_ok "report tiny" report "$tmp/rep" --gnuplot "$tmp/no-gnuplot"
grep -q "truncated last line" "$tmp/err" && grep -q "gnuplot not found: plots skipped" "$tmp/err" \
  || fail "report tiny stderr: $(cat "$tmp/err")"
for section in "## Speedup" "## Errors" "## Fitted exponents" "## Failed points"; do
  grep -q "$section" "$tmp/rep/report.md" || fail "report.md lacks $section"
done
if command -v gnuplot >/dev/null; then
  expect_ok "report plots" report "$tmp/rep" --out "$tmp/rep2"
  ls "$tmp"/rep2/plots/time_01.svg >/dev/null 2>&1 || fail "report plots: no time_01.svg"
fi
printf '\n{"n": 1,\n{"n": 2}\n' >>"$tmp/rep/results.jsonl"
expect_error "report malformed line" report "$tmp/rep" --no-plots
grep -q "results.jsonl:7:" "$tmp/err" || fail "report malformed: no line number: $(cat "$tmp/err")"
if [[ -s "$tmp/sw/results.jsonl" ]]; then  # the sweep's own rows (sweep.json included)
  expect_ok "report sweep" report "$tmp/sw" --out "$tmp/swr" --no-plots
  grep -q "Grid from" "$tmp/swr/report.md" || fail "report sweep: no grid from sweep.json"
fi

if [[ $fails -ne 0 ]]; then echo "$fails check(s) failed"; exit 1; fi
echo "all CLI checks passed"
