#include "sim/sweep/grid.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/error.h"
#include "core/hsr/threshold.h"
#include "core/index/half_space_index.h"
#include "sim/bench/backends.h"
#include "sim/bench/flag_values.h"
#include "sim/bench/targets.h"
#include "sim/workload/workload.h"

namespace hsr::sim {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxAxisValues = 4096;  // a range longer than this is a typo, not a grid

const std::vector<std::string>& GridKeys() {
  static const std::vector<std::string> keys = {
      "workload", "n", "m", "d", "seed", "mode", "causal", "attention", "alpha", "threshold", "index",
      "threads", "target", "backend", "backend_max_n", "repeats", "cold", "budget", "ci_width"};
  return keys;
}

std::string Short(const json& v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// "2^K" or a plain integer; sets *power when written as 2^K.
uint64_t ParseIntTerm(const std::string& key, const std::string& t, bool* power) {
  *power = t.rfind("2^", 0) == 0;
  const auto v = ParseUnsigned(*power ? t.substr(2) : t);
  HSR_CHECK(v && (!*power || *v < 63),
            "grid: key '{}': expected integers, 2^K or ranges A..B (e.g. \"2^12..2^20\"), got '{}'",
            key, t);
  return *power ? uint64_t{1} << *v : *v;
}

// "4096,16384", "2^12..2^20" (powers of two), "1..3" (every integer).
void AppendIntList(const std::string& key, const std::string& text, std::vector<uint64_t>* out) {
  for (const std::string& item : SplitComma(text)) {
    const size_t dots = item.find("..");
    bool p0 = false, p1 = false;
    if (dots == std::string::npos) {
      out->push_back(ParseIntTerm(key, item, &p0));
      continue;
    }
    const uint64_t a = ParseIntTerm(key, item.substr(0, dots), &p0);
    const uint64_t b = ParseIntTerm(key, item.substr(dots + 2), &p1);
    HSR_CHECK(p0 == p1 && a <= b,
              "grid: key '{}': expected a range A..B with A <= B, both plain or both 2^K, got '{}'",
              key, item);
    HSR_CHECK(p0 || b - a < kMaxAxisValues,
              "grid: key '{}': expected a range of at most {} values, got '{}'", key,
              kMaxAxisValues, item);
    for (uint64_t x = a; x <= b; x = p0 ? x * 2 : x + 1) out->push_back(x);
  }
}

template <typename T>
void CheckDistinct(const std::string& key, const std::vector<T>& v) {
  HSR_CHECK(!v.empty(), "grid: key '{}': expected at least one value, got an empty list", key);
  for (size_t i = 0; i < v.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      HSR_CHECK(!(v[i] == v[j]), "grid: key '{}': expected each value once, got {} twice", key,
                v[i]);
    }
  }
}

std::vector<uint64_t> IntAxis(const std::string& key, const json& v, uint64_t min, uint64_t max) {
  std::vector<uint64_t> out;
  const auto one = [&](const json& x) {
    if (x.is_number_unsigned()) {
      out.push_back(x.get<uint64_t>());
    } else if (x.is_string()) {
      AppendIntList(key, x.get<std::string>(), &out);
    } else {
      Fail("grid: key '{}': expected integers >= {} (or strings like \"2^12..2^20\"), got {}",
           key, min, Short(x));
    }
  };
  if (v.is_array()) {
    for (const auto& x : v) one(x);
  } else {
    one(v);
  }
  for (uint64_t x : out) {
    HSR_CHECK(x >= min && x <= max, "grid: key '{}': expected integers in [{}, {}], got {}", key,
              min, max, x);
  }
  CheckDistinct(key, out);
  return out;
}

// A list of strings, or one string (split at commas unless whole = true).
std::vector<std::string> StringAxis(const std::string& key, const json& v, bool whole) {
  std::vector<std::string> out;
  const auto one = [&](const json& x) {
    HSR_CHECK(x.is_string(), "grid: key '{}': expected strings, got {}", key, Short(x));
    const std::string s = x.get<std::string>();
    if (whole) {
      out.push_back(s);
    } else {
      for (auto& item : SplitComma(s)) out.push_back(std::move(item));
    }
  };
  if (v.is_array()) {
    for (const auto& x : v) one(x);
  } else {
    one(v);
  }
  for (const auto& s : out) {
    HSR_CHECK(!s.empty(), "grid: key '{}': expected non-empty strings, got an empty one", key);
  }
  CheckDistinct(key, out);
  return out;
}

void CheckAmong(const std::string& key, const std::vector<std::string>& values,
                const std::vector<std::string>& allowed) {
  for (const auto& v : values) {
    HSR_CHECK(std::find(allowed.begin(), allowed.end(), v) != allowed.end(),
              "grid: key '{}': expected values among {}, got '{}'", key, fmt::join(allowed, ", "),
              v);
  }
}

// A number (or its text) in (lo, hi); "grid: key 'budget': expected seconds > 0, got 0".
double RealScalar(const std::string& key, const json& v, double lo, double hi, const char* what) {
  std::optional<double> x;
  if (v.is_number()) x = v.get<double>();
  if (v.is_string()) x = ParseFinite(v.get<std::string>());
  HSR_CHECK(x && *x > lo && *x < hi, "grid: key '{}': expected {}, got {}", key, what, Short(v));
  return *x;
}

uint64_t IntScalar(const std::string& key, const json& v, uint64_t min) {
  std::optional<uint64_t> x;
  if (v.is_number_unsigned()) x = v.get<uint64_t>();
  if (v.is_string()) x = ParseUnsigned(v.get<std::string>());
  HSR_CHECK(x && *x >= min, "grid: key '{}': expected one integer >= {}, got {}", key, min,
            Short(v));
  return *x;
}

// Axes a workload kind takes (see sweep_grid.h).
struct KindAxes {
  bool n, m, d, seed;
};
KindAxes AxesOf(const std::string& kind) {
  if (IsPathKind(kind)) return {false, true, false, false};
  if (kind == "fitted") return {true, true, false, true};
  return {true, true, true, true};
}

bool IsHsrBackend(const std::string& name) { return name.rfind("hsr-", 0) == 0; }

}  // namespace

SweepGrid GridFromJson(const json& j) {
  HSR_CHECK(j.is_object(), "grid: expected a JSON object with keys among {}, got {}",
            fmt::join(GridKeys(), ", "), Short(j));
  for (const auto& [key, value] : j.items()) {
    HSR_CHECK(std::find(GridKeys().begin(), GridKeys().end(), key) != GridKeys().end(),
              "grid: expected keys among {}, got '{}'", fmt::join(GridKeys(), ", "), key);
    (void)value;
  }
  SweepGrid g;
  if (j.contains("workload")) g.workload = StringAxis("workload", j["workload"], true);
  for (const auto& spec : g.workload) {
    const WorkloadSpec ws = ParseWorkloadSpec(spec);  // "workload: expected KIND[:...]"
    const auto kinds = WorkloadKinds();
    HSR_CHECK(std::find(kinds.begin(), kinds.end(), ws.kind) != kinds.end(),
              "grid: key 'workload': expected kinds among {}, got '{}'", fmt::join(kinds, ", "),
              ws.kind);
  }
  if (j.contains("n")) g.n = IntAxis("n", j["n"], 1, uint64_t{1} << 40);
  if (j.contains("m")) g.m = IntAxis("m", j["m"], 1, uint64_t{1} << 40);
  if (j.contains("d")) g.d = IntAxis("d", j["d"], 1, 1 << 16);
  if (j.contains("seed")) g.seed = IntAxis("seed", j["seed"], 0, UINT64_MAX);
  if (j.contains("alpha")) g.alpha = IntAxis("alpha", j["alpha"], 1, 16);
  if (j.contains("threads")) g.threads = IntAxis("threads", j["threads"], 1, 4096);
  if (j.contains("mode")) g.mode = StringAxis("mode", j["mode"], false);
  CheckAmong("mode", g.mode, {"decode", "prefill", "prefill-causal"});
  if (j.contains("causal")) {
    g.causal = StringAxis("causal", j["causal"], false);
    CheckAmong("causal", g.causal, {"on", "off"});
  }
  if (j.contains("attention")) g.attention = StringAxis("attention", j["attention"], false);
  CheckAmong("attention", g.attention, {"relu", "softmax"});
  if (j.contains("threshold")) {
    g.threshold = StringAxis("threshold", j["threshold"], false);
    for (auto& t : g.threshold) t = ParseThreshold(t).ToString();  // canonical spelling
    CheckDistinct("threshold", g.threshold);
  }
  if (j.contains("target")) g.target = StringAxis("target", j["target"], false);
  CheckAmong("target", g.target, TargetNames());
  if (j.contains("index")) g.index = StringAxis("index", j["index"], false);
  CheckAmong("index", g.index, IndexNames());
  if (j.contains("backend")) g.backend = StringAxis("backend", j["backend"], false);
  CheckAmong("backend", g.backend, BackendNames());
  if (j.contains("backend_max_n")) {
    const json& v = j["backend_max_n"];
    if (v.is_string()) {  // flags: "dense-ref=16384,hsr-cpu=65536"
      for (const std::string& item : SplitComma(v.get<std::string>())) {
        const size_t eq = item.find('=');
        HSR_CHECK(eq != std::string::npos && eq > 0,
                  "grid: key 'backend_max_n': expected BACKEND=N items, got '{}'", item);
        const std::string name = item.substr(0, eq);
        HSR_CHECK(!g.backend_max_n.count(name),
                  "grid: key 'backend_max_n': expected each backend once, got '{}' twice", name);
        g.backend_max_n[name] = IntScalar("backend_max_n", json(item.substr(eq + 1)), 1);
      }
    } else {
      HSR_CHECK(v.is_object(),
                "grid: key 'backend_max_n': expected an object {{\"dense-ref\": 16384}}, got {}",
                Short(v));
      for (const auto& [name, x] : v.items()) g.backend_max_n[name] = IntScalar(name, x, 1);
    }
    for (const auto& [name, x] : g.backend_max_n) {
      CheckAmong("backend_max_n", {name}, g.backend);
      (void)x;
    }
  }
  if (j.contains("repeats")) g.repeats = IntScalar("repeats", j["repeats"], 1);
  if (j.contains("budget")) {
    g.budget = RealScalar("budget", j["budget"], 0, 1e9, "seconds > 0");
  }
  if (j.contains("ci_width")) {
    g.ci_width = RealScalar("ci_width", j["ci_width"], 0, 1, "a relative half-width in (0, 1)");
  }
  if (j.contains("cold")) {
    const json& v = j["cold"];
    HSR_CHECK(v.is_string(), "grid: key 'cold': expected \"auto\", \"on\" or \"off\", got {}",
              Short(v));
    g.cold = v.get<std::string>();
    CheckAmong("cold", {g.cold}, {"auto", "on", "off"});
  }
  return g;
}

SweepGrid GridFromJsonText(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    Fail("{}: expected JSON, got a syntax error at byte {}", what, e.byte);
  }
  return GridFromJson(j);
}

nlohmann::ordered_json GridToJson(const SweepGrid& g) {
  nlohmann::ordered_json j;
  j["workload"] = g.workload;
  j["n"] = g.n;
  j["m"] = g.m;
  j["d"] = g.d;
  j["seed"] = g.seed;
  j["mode"] = g.mode;
  j["causal"] = g.causal;
  j["attention"] = g.attention;
  j["alpha"] = g.alpha;
  j["threshold"] = g.threshold;
  j["index"] = g.index;
  j["threads"] = g.threads;
  j["target"] = g.target;
  j["backend"] = g.backend;
  j["backend_max_n"] = nlohmann::ordered_json::object();
  for (const auto& [name, x] : g.backend_max_n) j["backend_max_n"][name] = x;
  j["repeats"] = g.repeats;
  j["cold"] = g.cold;
  j["budget"] = g.budget;
  j["ci_width"] = g.ci_width;
  // Empty lists mean "the workload's own value" / "none": keep them out so the JSON reads back.
  for (const char* key : {"n", "m", "d", "seed", "causal", "threshold", "target"}) {
    if (j[key].empty()) j.erase(key);
  }
  return j;
}

SweepGrid DefaultGrid() {
  SweepGrid g;
  // The recording shipped in the repository (a path relative to the checkout, found by
  // ResolveWorkloadPath); missing, the grid fails naming it, never running another workload.
  g.workload = {"gaussian", std::string("fitted:npy:") + kDefaultRecording + ",layer=3"};
  for (uint64_t n = uint64_t{1} << 12; n <= (uint64_t{1} << 20); n *= 2) g.n.push_back(n);
  g.d = {64, 128};
  g.attention = {"relu", "softmax"};
  g.alpha = {1, 2, 3};
  g.threshold = {"paper"};
  g.backend = {"dense-ref", "dense-hwy", "hsr-cpu"};
  g.backend_max_n = {{"dense-ref", uint64_t{1} << 14}};
  g.repeats = 6;    // the fewest samples with a 95% interval of the median
  g.budget = 2.0;   // 108 points in <= 5 min on 2 cores (README)
  return g;
}

SweepGrid QuickGrid() {
  SweepGrid g;
  g.n = {256, 512};
  g.d = {16};
  g.attention = {"relu", "softmax"};
  g.alpha = {1, 2};
  g.backend = {"dense-ref", "dense-hwy", "hsr-cpu"};
  g.repeats = 1;
  g.cold = "off";
  g.budget = 0.1;
  return g;
}

std::string StableHash(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

std::string SweepPoint::Summary() const {
  auto get = [&](const char* k) {
    const auto it = settings.find(k);
    return it == settings.end() ? std::string() : it->second;
  };
  std::string s = get("workload");
  for (const char* k : {"n", "m", "d", "seed"}) {
    if (settings.count(k)) s += fmt::format(" {}={}", k, get(k));
  }
  if (mode != "decode") s += " " + mode;
  if (settings.count("causal") && mode != "prefill-causal") s += " causal=" + get("causal");
  s += " " + get("attention");
  if (settings.count("alpha")) s += " alpha=" + get("alpha");
  if (settings.count("threshold")) s += " " + get("threshold");
  if (settings.count("index")) s += " " + get("index");
  s += " t=" + get("threads");
  if (settings.count("target")) s += " target=" + get("target");
  return s;
}

std::vector<SweepPoint> EnumeratePoints(const SweepGrid& g) {
  // An absent axis is one "unset" value.
  const auto opt_ints = [](const std::vector<uint64_t>& v) {
    std::vector<std::optional<uint64_t>> out;
    for (uint64_t x : v) out.emplace_back(x);
    if (out.empty()) out.emplace_back(std::nullopt);
    return out;
  };
  const auto ns = opt_ints(g.n), ms = opt_ints(g.m), ds = opt_ints(g.d), seeds = opt_ints(g.seed);
  std::vector<std::optional<std::string>> thresholds(g.threshold.begin(), g.threshold.end());
  if (thresholds.empty()) thresholds.emplace_back(std::nullopt);
  std::vector<std::optional<std::string>> causals(g.causal.begin(), g.causal.end());
  if (causals.empty()) causals.emplace_back(std::nullopt);
  std::vector<std::optional<std::string>> targets(g.target.begin(), g.target.end());
  if (targets.empty()) targets.emplace_back(std::nullopt);

  std::vector<SweepPoint> points;
  std::set<std::string> seen_ids, checked_specs;
  for (const auto& n : ns)
  for (const auto& spec_text : g.workload)
  for (const auto& mode : g.mode)
  for (const auto& causal : causals)
  for (const auto& d : ds)
  for (const auto& m : ms)
  for (const auto& attention : g.attention)
  for (uint64_t alpha : g.alpha)
  for (const auto& threshold : thresholds)
  for (const auto& index : g.index)
  for (uint64_t threads : g.threads)
  for (const auto& target : targets)
  for (const auto& seed : seeds) {
    const WorkloadSpec ws = ParseWorkloadSpec(spec_text);
    const KindAxes axes = AxesOf(ws.kind);
    const bool relu = attention == "relu";
    if (relu && threshold && threshold->rfind("err=", 0) == 0) continue;  // softmax only
    PointSettings s;
    s["workload"] = spec_text;
    const auto axis = [&](const char* key, const std::optional<uint64_t>& v, bool takes) {
      if (!v || !takes) return;
      HSR_CHECK(!ws.Has(key),
                "grid: workload '{}' sets {}, and the grid sweeps {}; expected one of the two",
                spec_text, key, key);
      s[key] = std::to_string(*v);
    };
    axis("n", n, axes.n);
    axis("m", m, axes.m);
    axis("d", d, axes.d);
    axis("seed", seed, axes.seed);
    s["attention"] = attention;
    if (relu) s["alpha"] = std::to_string(alpha);
    if (threshold) s["threshold"] = *threshold;
    std::vector<std::string> backends;
    bool any_hsr = false;
    for (const auto& b : g.backend) {
      const auto cap = g.backend_max_n.find(b);
      if (n && axes.n && cap != g.backend_max_n.end() && *n > cap->second) continue;
      backends.push_back(b);
      any_hsr = any_hsr || IsHsrBackend(b);
    }
    if (backends.empty()) continue;
    s["backend"] = fmt::format("{}", fmt::join(backends, ","));
    if (any_hsr) s["index"] = index;
    s["threads"] = std::to_string(threads);
    s["repeats"] = std::to_string(g.repeats);
    s["cold"] = g.cold;
    HSR_CHECK(!(mode == "prefill-causal" && causal == "off"),
              "grid: mode 'prefill-causal' (causal on) and causal 'off': expected one of the two");
    if (causal) s["causal"] = *causal;
    s["budget"] = fmt::format("{}", g.budget);
    s["ci-width"] = fmt::format("{}", g.ci_width);
    if (target) s["target"] = *target;
    if (mode == "prefill-causal") s["causal"] = "on";

    SweepPoint p;
    p.mode = mode;
    p.prefill = mode != "decode";
    p.settings = std::move(s);
    nlohmann::ordered_json canon;
    canon["mode"] = p.mode;
    canon["settings"] = p.settings;  // std::map: sorted keys
    p.id = StableHash(canon.dump());
    if (!seen_ids.insert(p.id).second) continue;
    p.index = points.size();
    try {
      const PointConfig pc = MakePointConfig(p.settings, p.prefill);
      std::string canon_spec = pc.spec.kind;
      for (const auto& [k, v] : pc.spec.keys) canon_spec += "," + k + "=" + v;
      if (checked_specs.insert(canon_spec).second) MakeWorkloadSource(pc.spec);
      const auto num = [&](const char* k, double dflt) {
        return p.settings.count(k) ? static_cast<double>(*ParseUnsigned(p.settings.at(k))) : dflt;
      };
      // Time ~ a + b n d backends: a fixed ~1 s (generation, index build, oracle) against
      // ~4 s at n = 2^20, d = 128, two backends (default grid, 2 cores) gives a / b ~ 2^27.
      p.weight = num("n", 65536) * num("d", 128) * (p.prefill ? num("m", 256) : 1.0) *
                     static_cast<double>(backends.size()) +
                 0x1p27;
    } catch (const Error& e) {
      Fail("grid: point {} ({}): {}", p.index, p.Summary(), e.what());
    }
    points.push_back(std::move(p));
  }
  HSR_CHECK(!points.empty(), "grid: expected at least one point, got none (every backend left "
            "out by backend_max_n?)");
  return points;
}

}  // namespace hsr::sim
