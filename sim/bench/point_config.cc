#include "sim/bench/point_config.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/attention/params.h"
#include "core/base/error.h"
#include "core/hsr/threshold.h"
#include "core/index/half_space_index.h"
#include "sim/bench/backends.h"
#include "sim/bench/flag_values.h"
#include "sim/bench/targets.h"

namespace hsr::sim {

PointConfig MakePointConfig(const PointSettings& settings, bool prefill) {
  auto get = [&](const char* key) -> std::optional<std::string> {
    const auto it = settings.find(key);
    if (it == settings.end()) return std::nullopt;
    return it->second;
  };
  PointConfig pc;
  // Workload: spec, then flag overrides (validated here so errors name the flag).
  WorkloadSpec& spec = pc.spec;
  spec = ParseWorkloadSpec(get("workload").value_or("gaussian"));
  const std::pair<const char*, const char*> size_flags[] = {
      {"n", "n"}, {"d", "d"}, {"dv", "dv"}, {"m", "m"}, {"heads", "heads"},
      {"kv-heads", "kv_heads"}};
  for (const auto& [flag, key] : size_flags) {
    if (auto v = get(flag)) spec.Set(key, std::to_string(IntegerFlag(flag, *v, 1)));
  }
  if (auto v = get("seed")) spec.Set("seed", std::to_string(IntegerFlag("seed", *v, 0)));
  if (prefill && !spec.Has("m") && spec.kind == "gaussian") spec.Set("m", "256");

  BenchConfig& cfg = pc.bench;
  cfg.prefill = prefill;
  AttentionParams& p = cfg.params;
  p.kind = ParseAttentionKind(
      Choice("attention", get("attention").value_or("softmax"), {"softmax", "relu"}));
  const bool relu = p.kind == AttentionKind::kRelu;
  if (auto v = get("alpha")) {
    const auto a = ParseUnsigned(*v);
    HSR_CHECK(a && *a >= 1 && *a <= 16,
              "--alpha: expected an integer alpha >= 1 (at most 16), got {}", *v);
    HSR_CHECK(relu, "--alpha: expected --attention relu (alpha is the ReLU exponent), got softmax");
    p.alpha = static_cast<int>(*a);
  }
  if (auto v = get("b")) {
    const auto b = ParseFinite(*v);
    HSR_CHECK(b.has_value(), "--b: expected a finite threshold, got {}", *v);
    HSR_CHECK(relu, "--b: expected --attention relu (b is the ReLU threshold), got softmax");
    p.b = static_cast<float>(*b);
  }
  if (auto v = get("scale")) {
    const auto s = ParseFinite(*v);
    HSR_CHECK(s && *s > 0 && std::isfinite(static_cast<float>(*s)) && static_cast<float>(*s) > 0,
              "--scale: expected a finite scale > 0, got {}", *v);
    p.scale = static_cast<float>(*s);
  }
  if (auto v = get("causal")) cfg.causal = Choice("causal", *v, {"on", "off"}) == "on";
  if (auto v = get("threshold")) {
    cfg.threshold = ParseThreshold(*v);
    HSR_CHECK(!(relu && cfg.threshold->kind == ThresholdPolicy::Kind::kErr),
              "--threshold: expected b=VALUE|paper|count=K|frac=F with --attention relu, got '{}' "
              "(err= applies to softmax)", *v);
    HSR_CHECK(!(settings.count("b") && relu),
              "--threshold: expected either --b or --threshold, got both");
  }
  if (auto v = get("index")) {
    MakeIndex(*v);  // one-line error naming the known indexes
    cfg.index = *v;
  }
  if (auto v = get("prefill-report")) {
    HSR_CHECK(prefill,
              "--prefill-report: expected only with `hsr bench prefill`, got it for decode");
    const std::string how = Choice("prefill-report", *v, {"auto", "batch", "index"});
    cfg.prefill_report = how == "batch"   ? PrefillReport::kBatch
                         : how == "index" ? PrefillReport::kIndex
                                          : PrefillReport::kAuto;
  }
  cfg.threads = IntegerFlag("threads", get("threads").value_or("1"), 1);
  cfg.sampling.min_rounds = IntegerFlag("repeats", get("repeats").value_or("10"), 1);
  if (auto v = get("budget")) {
    const auto b = ParseFinite(*v);
    HSR_CHECK(b && *b > 0, "--budget: expected seconds > 0, got {}", *v);
    cfg.sampling.budget_s = *b;
  }
  if (auto v = get("ci-width")) {
    const auto c = ParseFinite(*v);
    HSR_CHECK(c && *c > 0 && *c < 1, "--ci-width: expected a relative half-width in (0, 1), got {}",
              *v);
    cfg.sampling.ci_width = *c;
  }
  cfg.target = LookupTarget(get("target").value_or("best"));  // unavailable: RequireTarget
  cfg.backends = ParseBackendList(get("backend").value_or(DefaultBackendList()));
  const std::string cold = Choice("cold", get("cold").value_or("auto"), {"auto", "on", "off"});
  cfg.cold = cold == "on" ? ColdMode::kOn : cold == "off" ? ColdMode::kOff : ColdMode::kAuto;
  return pc;
}

}  // namespace hsr::sim
