#include "sim/bench/result_row.h"

#include <fmt/format.h>

#include "sim/bench/table.h"

namespace hsr::sim {
namespace {

template <typename T>
nlohmann::ordered_json Opt(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

std::string Num(const std::optional<double>& v, const char* spec) {
  return v ? fmt::format(fmt::runtime(spec), *v) : std::string("-");
}

}  // namespace

nlohmann::ordered_json ToJson(const ResultRow& r) {
  nlohmann::ordered_json j;  // keys in docs/design.md §4 order
  j["commit"] = r.commit;
  j["host"] = r.host;
  j["cpu_target"] = r.cpu_target;
  j["target"] = r.target;
  j["threads"] = r.threads;
  j["backend"] = r.backend;
  j["index"] = Opt(r.index);
  j["workload"] = r.workload;
  j["seed"] = r.seed;
  j["n"] = r.n;
  j["m"] = r.m;
  j["d"] = r.d;
  j["dv"] = r.dv;
  j["heads"] = r.heads;
  j["kv_heads"] = r.kv_heads;
  j["mode"] = r.mode;
  j["causal"] = r.causal;
  j["causal_source"] = r.causal_source;
  j["alpha"] = Opt(r.alpha);
  j["attention"] = r.attention;
  j["threshold"] = Opt(r.threshold);
  j["b"] = Opt(r.b);
  j["scale"] = r.scale;
  j["median_us"] = r.median_us;
  j["p10_us"] = r.p10_us;
  j["p90_us"] = r.p90_us;
  j["time_unit"] = "us per query token (call time / m; a call covers all heads)";
  j["repeats"] = r.repeats;
  j["samples"] = r.samples;
  j["cold"] = r.cold;
  j["gbs"] = Opt(r.gbs);
  j["roofline_frac"] = Opt(r.roofline_frac);
  j["read_gbs"] = Opt(r.read_gbs);
  j["reported_mean"] = Opt(r.reported_mean);
  j["reported_p50"] = Opt(r.reported_p50);
  j["reported_p99"] = Opt(r.reported_p99);
  j["candidates_mean"] = Opt(r.candidates_mean);
  j["bytes_read"] = Opt(r.bytes_read);
  j["max_abs_err"] = Opt(r.max_abs_err);
  j["rel_l2_err"] = Opt(r.rel_l2_err);
  j["oracle_rows"] = r.oracle_rows;
  j["total_rows"] = r.total_rows;
  j["ambiguous_rows"] = r.ambiguous_rows;
  j["beyond_tol"] = r.beyond_tol;
  j["eps_max"] = Opt(r.eps_max);
  j["eps_mean"] = Opt(r.eps_mean);
  j["eps_tau_max"] = Opt(r.eps_tau_max);
  j["eps_tau_mean"] = Opt(r.eps_tau_mean);
  j["eps_sketch_max"] = Opt(r.eps_sketch_max);
  j["eps_sketch_mean"] = Opt(r.eps_sketch_mean);
  j["err_over_cert_max"] = Opt(r.err_over_cert_max);
  j["empty_rows"] = r.empty_rows;
  j["fallbacks"] = r.fallbacks;
  j["speedup"] = Opt(r.speedup);
  j["speedup_lo"] = Opt(r.speedup_lo);
  j["speedup_hi"] = Opt(r.speedup_hi);
  j["speedup_vs"] = Opt(r.speedup_vs);
  return j;
}

void PrintTable(std::FILE* out, const std::vector<ResultRow>& rows) {
  const std::vector<std::string> header = {
      "backend", "threads", "n", "m", "d", "heads", "median_us", "p10_us", "p90_us",
      "GB/s", "roofline", "max_abs_err", "rel_l2_err", "oracle_rows", "speedup [95% CI]"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    cells.push_back({
        r.backend, fmt::format("{}", r.threads), fmt::format("{}", r.n), fmt::format("{}", r.m),
        fmt::format("{}", r.d), r.heads == r.kv_heads ? fmt::format("{}", r.heads)
                                                      : fmt::format("{}/{}", r.heads, r.kv_heads),
        fmt::format("{:.1f}", r.median_us), fmt::format("{:.1f}", r.p10_us),
        fmt::format("{:.1f}", r.p90_us), Num(r.gbs, "{:.1f}"), Num(r.roofline_frac, "{:.2f}"),
        Num(r.max_abs_err, "{:.2e}"), Num(r.rel_l2_err, "{:.2e}"),
        (r.oracle_rows == r.total_rows ? fmt::format("all {}", r.total_rows)
                                       : fmt::format("{}/{}", r.oracle_rows, r.total_rows)) +
            (r.ambiguous_rows > 0 ? fmt::format(" ({} at b)", r.ambiguous_rows) : std::string()),
        r.speedup ? fmt::format("{:.2f}x{} vs {}", *r.speedup,
                                r.speedup_lo ? fmt::format(" [{:.2f}, {:.2f}]", *r.speedup_lo,
                                                           *r.speedup_hi)
                                             : std::string(),
                                r.speedup_vs.value_or("?"))
                  : std::string("-")});
  }
  std::vector<bool> left(header.size(), false);
  left[0] = true;  // the backend name; numbers right-aligned
  PrintAligned(out, header, cells, left);
}

}  // namespace hsr::sim
