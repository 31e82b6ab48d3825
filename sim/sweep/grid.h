// The grid of an `hsr sweep`: lists of values per axis, crossed into benchmark points.
//
// A grid is a JSON object (a --grid FILE, or the sweep flags gathered into one by the CLI), read
// strictly: an unknown key, a wrong type, an empty list, a repeated value or an unknown backend /
// index / workload kind / threshold policy throws hsr::Error (one line naming the key) before
// anything runs. Keys (every one optional; a value may be a list or a single value):
//   workload   specs, default ["gaussian"]; the axes below are set as the spec's keys
//   n, m, d    integer lists; absent: the workload's own value. Integer lists also take strings:
//              "4096,16384", "2^12..2^20" (every power of two from 2^12 to 2^20), "1..3" (every
//              integer), "2^10..2^12,100000"
//   seed       workload seeds; absent: the workload's own (default 1). The same seed at every n,
//              so a larger n extends the same data for the generators that stream it
//   mode       decode | prefill | prefill-causal (prefill with causal on), default [decode]
//   causal     on | off: the causal mask of every point (bottom-right aligned, Decode and
//              Prefill alike); absent: each workload's own (recorded: its manifest, generated:
//              off). prefill-causal with causal off is an error
//   attention  relu | softmax, default [softmax]
//   alpha      ReLU exponents 1..16, default [1] (relu points only)
//   threshold  policies (b=VALUE, paper, count=K, frac=F, err=E), default none (relu: b = 0,
//              hsr-cpu softmax: paper); err=E only pairs with softmax, other pairs are skipped
//   index      half-space indexes of the hsr-* backends, default ["sketch8"] (points without an
//              hsr-* backend ignore it)
//   threads    default [1]
//   target     Highway targets (sim/bench/targets.h), default none (the dispatcher's best);
//              a point whose target this machine cannot run is recorded as skipped with the
//              reason (sweep.h), never run on another target
//   backend    ONE list run together at every point (same data, one process: fair ratios),
//              default [dense-hwy, hsr-cpu]
//   backend_max_n  {"dense-ref": 16384}: leave a backend out of points with a larger n
//   repeats    the floor of timing samples per backend, default 3;  cold  auto | on | off,
//              default auto;  budget  seconds of paired sampling per point (> 0), default 3;
//              ci_width  target relative half-width of the 95% intervals, in (0, 1), default
//              0.05 (sim/bench/sampling.h)
// Which axes a workload takes: generated kinds (gaussian, clustered, lowrank, planted, sinks)
// take n, m, d, seed; fitted:npy:DIR takes n, m, seed (d is the recording's); recorded kinds
// (npy, npz, safetensors) take m only: their n and d are the recording's. An axis a workload
// does not take is not crossed for it (one point instead of one per value), and a spec that
// sets a key the grid also sweeps is an error. Points are enumerated n outermost (ascending),
// then workload, mode, causal, d, m, attention, alpha, threshold, index, threads, target, seed;
// equal points
// (after dropping axes that do not apply) appear once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/bench/point_config.h"

namespace hsr::sim {

struct SweepGrid {
  std::vector<std::string> workload{"gaussian"};
  std::vector<uint64_t> n, m, d, seed;  // empty: the workload's own value
  std::vector<std::string> mode{"decode"};
  std::vector<std::string> causal;  // empty: each workload's own mask
  std::vector<std::string> attention{"softmax"};
  std::vector<uint64_t> alpha{1};
  std::vector<std::string> threshold;  // empty: none
  std::vector<std::string> index{"sketch8"};
  std::vector<uint64_t> threads{1};
  std::vector<std::string> target;  // empty: none (best)
  std::vector<std::string> backend{"dense-hwy", "hsr-cpu"};
  std::map<std::string, uint64_t> backend_max_n;
  uint64_t repeats = 3;
  std::string cold = "auto";
  double budget = 3.0;      // seconds
  double ci_width = 0.05;
};

// Strict reader (see above). Throws hsr::Error "grid: key 'n': expected ..., got ...".
SweepGrid GridFromJson(const nlohmann::json& j);
// Parses text as JSON first ("grid FILE: expected JSON, got ... at byte B").
SweepGrid GridFromJsonText(const std::string& text, const std::string& what);
// Every key spelled out in a fixed order; GridFromJson(GridToJson(g)) == g.
nlohmann::ordered_json GridToJson(const SweepGrid& g);

// The recorded head behind the default grid's fitted workload: tinylm-code-2k layer 3 as shipped
// in the repository (sim/workload/data/README.md), relative to the checkout.
inline constexpr const char* kDefaultRecording = "sim/workload/data/tinylm-code-2k-f16";

// The grid `hsr sweep --out DIR` runs with no grid flags: gaussian and a fitted recorded head
// (fitted:npy:sim/workload/data/tinylm-code-2k-f16,layer=3; when that folder cannot be found the
// grid is an error naming it), n = 2^12..2^20, d = 64, 128, ReLU alpha 1..3 and softmax at the
// paper threshold, dense-hwy + hsr-cpu (+ dense-ref up to n = 2^14), at least 6 paired samples
// (the fewest with a 95% interval) and 2 s of sampling per point.
SweepGrid DefaultGrid();
// A tiny grid for tests and `hsr sweep --quick`: gaussian, n = 256, 512, d = 16, ReLU alpha 1, 2
// and softmax, dense-ref + dense-hwy + hsr-cpu, 1 repeat, cold off, 0.1 s budget (6 points,
// seconds).
SweepGrid QuickGrid();

struct SweepPoint {
  size_t index = 0;        // position in the enumeration; shard i/N runs index % N == i
  std::string id;          // 16 hex digits: FNV-1a 64 of the canonical settings (stable)
  bool prefill = false;
  std::string mode;        // decode | prefill | prefill-causal (settings["causal"]: on | off)
  PointSettings settings;  // `hsr bench` flags of this point (sim/bench/point_config.h)
  double weight = 1;       // relative cost estimate, for the ETA
  std::string Summary() const;  // "gaussian n=4096 d=64 relu alpha=2 paper"
};

// Every point of the grid, in enumeration order, each checked with MakePointConfig and its
// workload spec with MakeWorkloadSource (once per distinct spec); throws hsr::Error naming the
// point on the first bad one.
std::vector<SweepPoint> EnumeratePoints(const SweepGrid& grid);

// 16 lower-case hex digits of FNV-1a 64 over text.
std::string StableHash(const std::string& text);

}  // namespace hsr::sim
