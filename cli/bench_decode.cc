// hsr bench decode|prefill: flag parsing and printing; the measurement is sim::RunBench.
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/base/error.h"
#include "core/hsr/threshold.h"
#include "core/index/half_space_index.h"
#include "sim/bench/backends.h"
#include "sim/bench/bench.h"
#include "sim/bench/point_config.h"
#include "sim/bench/result_row.h"
#include "sim/bench/table.h"
#include "sim/bench/targets.h"
#include "sim/machine/cache_evict.h"
#include "sim/stats/summary.h"
#include "sim/workload/workload.h"

namespace hsr::cli {

namespace {

void PrintResult(const std::string& cmd, const sim::Workload& w, const sim::BenchConfig& cfg,
                 const sim::BenchResult& res, bool threads_given);

}  // namespace

int BenchAttention(const std::vector<std::string>& args, bool prefill) {
  const std::string cmd = prefill ? "bench prefill" : "bench decode";
  const std::string default_backends = sim::DefaultBackendList();
  po::options_description desc(fmt::format(
      "Usage: hsr {} [flags]\n\n"
      "Times every --backend on one workload; columns: time per query token (one call's time / "
      "m, a call covers all heads), GB/s of the bytes a call reads (K and V; a ReLU "
      "dense decode K and the value rows of keys with a positive weight; hsr-cpu its index's "
      "and the rows it rechecks and gathers) and its fraction of the DRAM read bandwidth measured in the same run, and errors vs the float64 oracle (on sampled rows "
      "when all would be slow).\n\nFlags",
      cmd));
  // Values are strings so that every bad value gets our own one-line message.
  desc.add_options()
      ("help,h", "this text")
      ("workload", Str("SPEC"),
       "workload KIND[:key=value,...] (default gaussian; keys n, m, d, dv, heads, kv_heads, "
       "seed); the flags below override its keys")
      ("n", Str("N"), "keys (default 65536)")
      ("d", Str("D"), "head dim (default 128)")
      ("dv", Str("DV"), "value dim (default d)")
      ("m", Str("M"), prefill ? "queries (default 256)" : "queries per decode call (default 1)")
      ("heads", Str("H"), "query heads (default 1)")
      ("kv-heads", Str("H"), "key/value heads, divides heads (default heads)")
      ("seed", Str("S"), "workload seed (default 1)")
      ("attention", Str("KIND"), "softmax | relu (default softmax)")
      ("alpha", Str("A"), "ReLU exponent, integer >= 1 (default 1; relu only)")
      ("b", Str("B"), "ReLU threshold on the scaled score (default 0; relu only)")
      ("scale", Str("S"), "score scale, finite > 0 (default 1/sqrt(d))")
      ("threshold", Str("POLICY"),
       "b=VALUE | paper | count=K | frac=F | err=E (softmax): HSR threshold policy; with relu "
       "the per-query b it gives is used by every backend (default: --b; hsr-cpu softmax: paper)")
      ("index", Str("NAME"),
       fmt::format("half-space index of hsr-cpu, one of {} (default sketch8)",
                   fmt::join(IndexNames(), ", ")).c_str());
  if (prefill) {
    desc.add_options()
        ("prefill-report", Str("HOW"),
         "auto | batch | index: how hsr-cpu finds each row's keys (default auto: batch for relu, "
         "index for softmax; err= policies always index). batch: sketch8's integer screen over "
         "the causal key prefixes, 256 rows per pass over the key codes, no index built; index: "
         "one index query per row (--index), its build inside the call. Both give the same sets "
         "and, with sketch8, the same softmax certificates up to summation order (<= 1.3e-4 "
         "relative)");
  }
  desc.add_options()
      ("causal", Str("on|off"),
       "the causal mask, bottom-right aligned (query row i of m sees keys j <= i + n - m), for "
       "every backend and the oracle (default: the workload's own: a recording's manifest or "
       "file, off for generated data)")
      ("threads", Str("T"), "threads per backend (default 1; dense-ref always 1)")
      ("backend", Str("LIST"),
       fmt::format("comma-separated, of {} (default {})", fmt::join(sim::BackendNames(), ", "),
                   default_backends).c_str())
      ("repeats", Str("R"), "the floor of timing samples per backend, >= 1 (default 10)")
      ("budget", Str("SECONDS"),
       "seconds of sampling after which the rounds stop, > 0 (default 3): backends are sampled "
       "in alternation (A B A B ..., one sample each per round, same data); rounds go on past "
       "--repeats until every speedup's 95% interval is within --ci-width of its median (and "
       "they have lasted 0.25 s, or the budget if less) or the budget is spent")
      ("ci-width", Str("W"),
       "target half-width of each 95% interval as a fraction of its median, in (0, 1) (default "
       "0.05). Speedup = median of the per-round ratios; its interval is the order-statistic "
       "(binomial) interval of that median: exact, distribution-free, deterministic")
      ("cold", Str("MODE"),
       "auto | on | off (default auto = on): before each sample, every cache line of K, V, q, "
       "out and of every buffer a backend keeps (index codes, bounds, norms, key copies) is "
       "evicted with CLFLUSHOPT, and the sample is one call, so it reads its data from DRAM "
       "whatever the last-level cache size (GPU device memory is not reachable: not evicted); "
       "off: samples of back-to-back calls on cache-resident data")
      ("target", Str("LIST"),
       fmt::format("Highway SIMD targets to run the point under, comma-separated, of {} "
                   "(default best: the dispatcher's choice); one the CPU lacks is an error",
                   fmt::join(sim::TargetNames(), ", ")).c_str())
      ("format", Str("FMT"), "table | json (default table; json: one row per line)")
      ("save-output", Str("PREFIX"),
       "write each backend's output as PREFIX.<backend>.npy (float32 [heads, m, dv])");

  const auto parsed = ParseFlags(args, desc);
  if (!parsed) return 0;  // --help
  const po::variables_map& vm = *parsed;
  auto get = [&](const char* key) { return Get(vm, key); };

  // Everything but output goes through the shared point settings (sim/bench/point_config.h), the
  // same path every `hsr sweep` point takes; one point per --target, all checked first.
  sim::PointSettings settings;
  for (const auto& [key, value] : vm) {
    if (key != "help" && key != "format" && key != "save-output" && key != "target") {
      settings[key] = value.as<std::string>();
    }
  }
  const std::vector<std::string> targets = sim::ParseTargetList(get("target").value_or("best"));
  std::vector<sim::PointConfig> points;
  for (const auto& t : targets) {
    sim::RequireTarget(t);  // one line naming why this machine cannot run it
    settings["target"] = t;
    points.push_back(sim::MakePointConfig(settings, prefill));
  }
  const std::string format =
      sim::Choice("format", get("format").value_or("table"), {"table", "json"});
  const std::string save = get("save-output").value_or("");
  const bool tty = isatty(STDERR_FILENO);
  auto source = sim::MakeWorkloadSource(points.front().spec);  // checks every key first
  if (tty) fmt::print(stderr, "\r\033[Kgenerating {}", source->Describe());
  const sim::Workload w = source->Make();
  for (sim::PointConfig& point : points) {
    sim::BenchConfig& cfg = point.bench;
    if (!save.empty()) {
      cfg.save_output_prefix = targets.size() > 1 ? save + "." + cfg.target.name : save;
    }
    if (tty) cfg.progress = [](const std::string& s) { fmt::print(stderr, "\r\033[K{}", s); };
    const sim::BenchResult res = sim::RunBench(w, cfg);
    if (tty) fmt::print(stderr, "\r\033[K");
    if (format == "json") {
      for (const auto& row : res.rows) fmt::print("{}\n", sim::ToJson(row).dump());
    } else {
      PrintResult(cmd, w, cfg, res, vm.count("threads") > 0);
    }
  }
  return 0;
}

namespace {

// The table form of one point: machine and method lines, the rows, notes and warnings.
void PrintResult(const std::string& cmd, const sim::Workload& w, const sim::BenchConfig& cfg,
                 const sim::BenchResult& res, bool threads_given) {
  const AttentionParams& p = cfg.params;
  const bool relu = p.kind == AttentionKind::kRelu;
  const auto& f = res.facts;
  std::string reads;
  for (const auto& [t, r] : f.read) {
    reads += fmt::format("{}{:.1f} GB/s with {} thread(s) (p10 {:.1f}, p90 {:.1f}, {} passes over "
                         "{})", reads.empty() ? "" : "; ", r.gbs, t, r.p10_gbs, r.p90_gbs,
                         r.passes, sim::FormatBytes(static_cast<double>(r.bytes)));
  }
  const double kv_bytes = static_cast<double>(w.kv_heads * w.n * (w.d + w.dv) * sizeof(float));
  fmt::print("# hsr {} on {} ({}), Highway target {} (--target {}), LLC {}, commit {}\n", cmd,
             f.host, f.cpu_model, f.cpu_target, cfg.target.name,
             sim::FormatBytes(static_cast<double>(f.llc_bytes)), f.commit);
  fmt::print("# measured DRAM read bandwidth: {}\n", reads);
  fmt::print("# workload {}; {}{}, scale {:.6g}; threads {}{}\n", w.description,
             ToString(p.kind), relu ? fmt::format(" alpha={} b={}", p.alpha,
                                     cfg.threshold ? cfg.threshold->ToString() + " (per query)"
                                                   : fmt::format("{}", p.b))
                  : (cfg.threshold ? " threshold " + cfg.threshold->ToString() : ""),
             res.rows.empty() ? p.ScaleFor(w.d) : res.rows.front().scale, cfg.threads,
             threads_given ? "" : " (default; use --threads)");
  fmt::print("# causal mask: {} ({})\n", res.causal.on ? "on, bottom-right aligned" : "off",
             res.causal.source == "flag"       ? "--causal"
             : res.causal.source == "workload" ? "the recording's own; --causal on|off overrides"
                                               : "default for generated data; --causal on|off");
  fmt::print("# K+V {} per call; cold: {}\n", sim::FormatBytes(kv_bytes),
             res.cold ? fmt::format("on, {} evicted with {} before each one-call sample (K, V, "
                                    "q, out and the backends' own buffers)",
                                    sim::FormatBytes(res.cold_bytes), sim::EvictInstruction())
                      : "off (data may be cache-resident)");
  fmt::print("# sampling: {} round(s) of the {} backend(s) in alternation in {:.2f} s (floor {}, "
             "budget {:g} s): {}\n", res.rounds, res.rows.size(), res.sampling_s,
             cfg.sampling.min_rounds, cfg.sampling.budget_s,
             res.converged ? fmt::format("every 95% interval within {:g} of its median",
                                         cfg.sampling.ci_width)
                           : "stopped by the budget or the floor, intervals as measured");
  fmt::print("# time: microseconds per query token (one call / m = {}; a call covers all {} "
             "heads), median / p10 / p90 of the samples; speedup: median of the per-round "
             "ratios [95% order-statistic interval]; errors vs the float64 oracle on the "
             "oracle_rows listed\n",
             w.m, w.q_heads);
  sim::PrintTable(stdout, res.rows);
  for (const auto& note : res.notes) fmt::print("# {}\n", note);
  // The oracle sample is shared by every row: so are its ambiguous rows.
  if (!res.rows.empty() && res.rows.front().ambiguous_rows > 0) {
    fmt::print("# {} oracle row(s) \"at b\": a score within float32 rounding of the threshold "
               "decides whether the ReLU row is empty, so its output may jump by a whole value "
               "row; left out of max_abs_err / rel_l2_err (still held to the hull tolerance)\n",
               res.rows.front().ambiguous_rows);
  }
  for (const auto& row : res.rows) {
    // Softmax HSR drops certified mass (judged by eps); every other row must stay within the
    // float32 tolerance derived in verify/oracle.cc.
    const bool certified = row.attention == "softmax" && row.reported_mean.has_value();
    if (row.beyond_tol > 0 && !certified) {
      fmt::print("# WARNING {}: {} element(s) beyond the derived float32 tolerance of the "
                 "oracle (run `hsr verify` to localise)\n",
                 row.backend, row.beyond_tol);
    }
  }
  for (const auto& row : res.rows) {
    if (!row.reported_mean) continue;
    auto opt = [](const std::optional<double>& x, const char* f) {
      return x ? fmt::format(fmt::runtime(f), *x) : std::string("-");
    };
    fmt::print("# {}: index {}, threshold {} (mean b {}), reported mean {:.1f} ({:.3f}% of n) "
               "p50 {:.0f} p99 {:.0f}, candidates mean {:.1f} ({:.3f}% of n), bytes read {} per "
               "call, eps max {} mean {}, fallbacks {}\n",
               row.backend, row.index.value_or("-"), row.threshold.value_or("-"),
               opt(row.b, "{:.4g}"), *row.reported_mean,
               100.0 * *row.reported_mean / static_cast<double>(row.n), row.reported_p50.value_or(0),
               row.reported_p99.value_or(0), row.candidates_mean.value_or(0),
               100.0 * row.candidates_mean.value_or(0) / static_cast<double>(row.n),
               sim::FormatBytes(row.bytes_read.value_or(0)), opt(row.eps_max, "{:.3e}"),
               opt(row.eps_mean, "{:.3e}"), row.fallbacks);
    if (row.eps_tau_max || row.eps_sketch_max) {
      fmt::print("# {}: certificates (non-fallback rows): eps_tau max {} mean {}, eps_sketch max "
                 "{} mean {}; max over checked rows of err / (2 eps max|v| + 2 tol) = {}\n",
                 row.backend, opt(row.eps_tau_max, "{:.3e}"), opt(row.eps_tau_mean, "{:.3e}"),
                 opt(row.eps_sketch_max, "{:.3e}"), opt(row.eps_sketch_mean, "{:.3e}"),
                 opt(row.err_over_cert_max, "{:.3g}"));
    }
  }
  for (const auto& row : res.rows) {
    if (row.empty_rows) fmt::print("# {}: {} empty rows (zero output)\n", row.backend, row.empty_rows);
  }
  if (!cfg.save_output_prefix.empty()) {
    for (const auto& row : res.rows) {
      fmt::print("# wrote {}.{}.npy\n", cfg.save_output_prefix, row.backend);
    }
  }
}

}  // namespace

}  // namespace hsr::cli
