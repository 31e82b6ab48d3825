#!/usr/bin/env bash
# GPU checks of gpu/ in ONE short run on an H100/H200. Two steps:
#
#   1. Anywhere with nvcc (no GPU needed):   gpu/scripts/device_check.sh build
#      Builds Release for sm_90 only (build/devcheck), strips the binaries and stages them with
#      the shared libraries they need (all but glibc's) into build/devcheck-stage (< 64 MiB;
#      build/ is git-ignored, so copy it to the GPU machine explicitly).
#   2. On the GPU machine, in a checkout with build/devcheck-stage copied in and OUT set to an
#      empty folder:   OUT=DIR gpu/scripts/device_check.sh run
#      Runs the GPU test binaries (oracle properties; nothing may skip there), `hsr bench` at the
#      decode point n = 2^20, d = 128, 32 q / 8 kv heads (dense-cuda f32/f16/bf16 softmax; dense
#      vs hsr-cuda (scan filter) vs hsr-cuda-sketch (certified int8 sketch filter) ReLU^alpha
#      with the `paper` threshold) and the prefill point (n = 32768 causal), PyTorch SDPA flash
#      on the same shapes (sim/peers/sdpa_bench.py), and writes under $OUT (at most 8 files):
#        nvidia-smi.txt tests.log bench_decode.jsonl bench_prefill.jsonl sdpa.jsonl bench.log
#        summary.txt
#      Each step has its own timeout so one slow step cannot eat the others; the summary table
#      is printed last. Step timeouts sum to 570 s (tests 220, decode 220, prefill 60, SDPA 70).
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=build/devcheck-stage

build() {
  set -e
  # sm_90 only; no FAISS / OpenBLAS peers (their libraries alone are ~50 MiB); warnings are not
  # errors here (the CI build is the gate, this build only has to run on the device).
  cmake -S . -B build/devcheck -DCMAKE_BUILD_TYPE=Release -DHSR_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90-real -DHSR_WERROR=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_faiss=ON -DCMAKE_DISABLE_FIND_PACKAGE_BLAS=ON >/dev/null
  cmake --build build/devcheck --target hsr hsr_gpu_device_test hsr_gpu_test hsr_gpu_host_test \
    -j"${JOBS:-2}"
  rm -rf "$STAGE"
  mkdir -p "$STAGE/bin" "$STAGE/lib"
  for b in cli/hsr gpu/hsr_gpu_device_test gpu/hsr_gpu_test gpu/hsr_gpu_host_test; do
    cp "build/devcheck/$b" "$STAGE/bin/"
    strip "$STAGE/bin/$(basename "$b")"
  done
  # Shared libraries except glibc's own (the device image brings a newer glibc).
  ldd "$STAGE"/bin/* | awk '/=> \// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$STAGE/lib/"; done
  du -sh "$STAGE"
  local mib
  mib=$(du -sm "$STAGE" | cut -f1)
  if [ "$mib" -ge 60 ]; then echo "device_check: expected < 60 MiB staged, got $mib MiB" >&2; exit 1; fi
  echo "device_check: staged; on the GPU machine, with $STAGE copied in:" \
    "OUT=DIR gpu/scripts/device_check.sh run"
}

run() {
  : "${OUT:?device_check run: expected \$OUT (an empty folder for the results), got none}"
  # The staged libraries (libstdc++ of g++ 12 among them) only for our binaries: PyTorch needs
  # the image's newer libstdc++.
  local libs="$PWD/$STAGE/lib"
  hsr_bin() { LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
  export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=passive
  local bin="$STAGE/bin" log="$OUT/bench.log"
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
  {
    echo "== host tests"; hsr_bin timeout 30 "$bin/hsr_gpu_host_test" --gtest_brief=1
    echo "== device query"; hsr_bin timeout 20 "$bin/hsr_gpu_test"
    echo "== device properties (must not skip)"
    hsr_bin timeout 170 "$bin/hsr_gpu_device_test"
    echo "rc=$?"
  } >"$OUT/tests.log" 2>&1
  grep -E "SKIPPED|FAILED|PASSED|rc=" "$OUT/tests.log" | tail -20

  local dec=(--n 1048576 --d 128 --heads 32 --kv-heads 8 --repeats 5 --cold off --format json)
  {
    hsr_bin timeout 95 "$bin/hsr" bench decode "${dec[@]}" --attention softmax \
      --backend dense-cuda,dense-cuda-f16,dense-cuda-bf16
    # hsr-cuda-sketch-f16 builds its int8 sketch on the host (8 kv heads in parallel) in the
    # bench's untimed Prepare; the target is hsr-cuda-sketch-f16 >= 2.5x SDPA flash.
    hsr_bin timeout 125 "$bin/hsr" bench decode "${dec[@]}" --attention relu --alpha 2 \
      --threshold paper --backend dense-cuda-f16,hsr-cuda-f16,hsr-cuda-sketch-f16,hsr-cuda
  } >"$OUT/bench_decode.jsonl" 2>>"$log"
  hsr_bin timeout 60 "$bin/hsr" bench prefill --n 32768 --m 32768 --d 128 --heads 32 --kv-heads 8 \
    --causal on --repeats 3 --cold off --format json --backend dense-cuda-f16 \
    >"$OUT/bench_prefill.jsonl" 2>>"$log"
  {
    timeout 35 python3 sim/peers/sdpa_bench.py --mode decode --n 1048576 --d 128 --heads 32 \
      --kv-heads 8
    timeout 35 python3 sim/peers/sdpa_bench.py --mode prefill --n 32768 --d 128 --heads 32 \
      --kv-heads 8 --repeats 10
  } >"$OUT/sdpa.jsonl" 2>>"$log"

  python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import json, sys, os
out = sys.argv[1]
print(f"{'file':<20} {'backend':<18} {'mode':<8} {'attn':<8} {'median_us':>11} {'GB/s':>8} "
      f"{'roofline':>8} {'reported':>9} {'max_abs_err':>11}")
for name in ("bench_decode.jsonl", "bench_prefill.jsonl", "sdpa.jsonl"):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        continue
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        f = lambda x, s: ("-" if x is None else format(x, s))
        print(f"{name:<20} {r['backend']:<18} {r['mode']:<8} {r['attention']:<8} "
              f"{f(r['median_us'], '.1f'):>11} {f(r.get('gbs'), '.0f'):>8} "
              f"{f(r.get('roofline_frac'), '.2f'):>8} {f(r.get('reported_mean'), '.0f'):>9} "
              f"{f(r.get('max_abs_err'), '.2e'):>11}")
PY
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *) echo "usage: $0 build | run   (build with nvcc, run on the GPU machine; see the header)" >&2
     exit 2 ;;
esac
