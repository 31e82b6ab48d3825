#!/usr/bin/env bash
# balltree_slope.sh — how the work of an exact half-space query grows with n at low d.
#
#   bash sim/bench/balltree_slope.sh [HSR_BINARY]
#
# For d in $DIMS and n = 2^LO .. 2^HI (Gaussian keys and queries, the `paper` threshold
# b = mu + sigma sqrt(0.4 ln n) per query, m = $M queries, 1 thread, 1 timing round) it runs
#   hsr bench index --workload gaussian --n N --d D --m M --index scan,balltree \
#                   --threads 1 --repeats 1 --format json
# and fits, by least squares on (ln n, ln y) over the n points of each d, the slope of
#   scored   = candidates_mean: keys whose exact float32 score was computed (leaf rechecks);
#   nodes    = keys_bounded_mean: tree nodes whose ball bound <q,c> + |q| R was evaluated
#              (balltree counts nodes there, not keys; scan counts n);
#   bulk     = keys reported from a subtree whose lower bound already exceeds b, without a score
#              (recovered exactly from bytes_read: nodes (4d+16) + scored (4d+4) + bulk 4 bytes);
#   touched  = scored + bulk: keys the query visits at all (>= reported, the output size);
#   wasted   = scored - (reported - bulk): keys scored but not reported — the non-output part
#              of the work, the term the paper's O(n^(1 - 1/floor(d/2)) + k) bound is about;
#   reported = reported_mean: the output size k, a lower bound for any exact reporting structure.
# Each slope is printed with a 95% confidence interval (t quantile, n_points - 2 degrees of
# freedom: it measures how well one power law fits the points, not sampling noise between
# queries) next to the exponent 1 - 1/floor(d/2) the paper cites for half-space reporting and
# 1 - 1/d, the crossing number of a balanced kd/ball-tree partition (what a ball tree can reach).
# Key counts are deterministic (seeded workload); the script does not time anything.
#
# Environment: DIMS (default "2 4 6 8"), LO (12), HI (20), M (64), SEED (1),
# OUT (directory for the raw JSON rows, default a fresh mktemp -d).
# Needs python3 (standard library only).
set -euo pipefail

HSR="${1:-}"
if [[ -z "$HSR" ]]; then
  for c in build/h10/cli/hsr build/release/cli/hsr build/cli/hsr "$(command -v hsr || true)"; do
    if [[ -n "$c" && -x "$c" ]]; then HSR="$c"; break; fi
  done
fi
if [[ -z "$HSR" || ! -x "$HSR" ]]; then
  echo "balltree_slope.sh: expected an hsr binary as the first argument (or in build/*/cli/hsr), got '${1:-}'" >&2
  exit 2
fi
DIMS="${DIMS:-2 4 6 8}"
LO="${LO:-12}"
HI="${HI:-20}"
M="${M:-64}"
SEED="${SEED:-1}"
OUT="${OUT:-$(mktemp -d /tmp/balltree_slope.XXXXXX)}"
mkdir -p "$OUT"
ROWS="$OUT/rows.jsonl"
: > "$ROWS"

echo "# hsr: $HSR; raw rows: $ROWS"
for d in $DIMS; do
  for ((e = LO; e <= HI; e++)); do
    n=$((1 << e))
    t0=$(date +%s.%N)
    "$HSR" bench index --workload gaussian --n "$n" --d "$d" --m "$M" --seed "$SEED" \
      --index scan,balltree --threshold paper --threads 1 --repeats 1 --format json >> "$ROWS"
    t1=$(date +%s.%N)
    printf '# d=%d n=2^%d done in %.1f s\n' "$d" "$e" "$(echo "$t1 - $t0" | bc -l)" >&2
  done
done

python3 - "$ROWS" <<'PY'
import json, math, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bt = [r for r in rows if r["index"] == "balltree"]
assert all(r["exact"] for r in rows), "an index reported a set different from scan's"

# Two-sided 95% t quantiles by degrees of freedom.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131}

def fit(xs, ys):
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y > 0]
    k = len(pts)
    if k < 3:
        return float("nan"), float("nan")
    mx = sum(p[0] for p in pts) / k
    my = sum(p[1] for p in pts) / k
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    icpt = my - slope * mx
    sse = sum((p[1] - icpt - slope * p[0]) ** 2 for p in pts)
    se = math.sqrt(sse / (k - 2) / sxx)
    return slope, T975.get(k - 2, 1.96) * se

def derived(r):
    d = r["d"]
    nodes = r["keys_bounded_mean"]
    scored = r["candidates_mean"]
    bulk = (r["bytes_read"] - nodes * (4 * d + 16) - scored * (4 * d + 4)) / 4.0
    bulk = max(0.0, bulk)
    rep = r["reported_mean"]
    return dict(nodes=nodes, scored=scored, bulk=bulk, touched=scored + bulk,
                wasted=scored - (rep - bulk), reported=rep)

print()
print("## per point (means over the m queries)")
print("| d | n | reported | scored | bulk | touched | wasted | nodes | touched/n | reported/n |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in sorted(bt, key=lambda r: (r["d"], r["n"])):
    v = derived(r)
    print(f"| {r['d']} | 2^{int(round(math.log2(r['n'])))} | {v['reported']:.1f} | {v['scored']:.1f} | "
          f"{v['bulk']:.1f} | {v['touched']:.1f} | {v['wasted']:.1f} | {v['nodes']:.1f} | "
          f"{v['touched'] / r['n']:.4f} | {v['reported'] / r['n']:.4f} |")

print()
print("## log-log slopes vs n (least squares, +- 95% CI), paper exponent 1 - 1/floor(d/2)")
names = ["touched", "scored", "wasted", "nodes", "reported"]
print("| d | n range | paper 1-1/floor(d/2) | crossing 1-1/d | " + " | ".join(names) + " |")
print("|---|---|---|---|" + "---|" * len(names))
for d in sorted({r["d"] for r in bt}):
    rs = sorted((r for r in bt if r["d"] == d), key=lambda r: r["n"])
    ns = [r["n"] for r in rs]
    vs = [derived(r) for r in rs]
    paper = 1 - 1 / (d // 2)
    cells = []
    for nm in names:
        s, ci = fit(ns, [v[nm] for v in vs])
        cells.append(f"{s:.3f} +- {ci:.3f}")
    lo, hi = int(round(math.log2(ns[0]))), int(round(math.log2(ns[-1])))
    print(f"| {d} | 2^{lo}..2^{hi} ({len(ns)} pts) | {paper:.3f} | {1 - 1 / d:.3f} | "
          + " | ".join(cells) + " |")
print()
print("crossing 1-1/d: how many cells of a balanced binary space partition (kd/ball tree) a")
print("hyperplane can cross; the paper's 1-1/floor(d/2) needs shallow-cutting partition trees.")
print("reference: the paper threshold reports a fraction P(Z > sqrt(0.4 ln n)) of the keys, i.e.")
print("k ~ n^0.8 / sqrt(ln n): local slope 0.8 - 1/(2 ln n) = "
      + ", ".join(f"{0.8 - 1 / (2 * math.log(2 ** e)):.3f} at 2^{e}" for e in (12, 16, 20)))
PY
