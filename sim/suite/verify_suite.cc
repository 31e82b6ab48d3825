#include "sim/suite/verify_suite.h"

#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/attention/kv_cache.h"
#include "core/base/error.h"
#include "core/hsr/hsr_backend.h"
#include "core/index/half_space_index.h"
#include "sim/bench/backends.h"
#include "sim/bench/targets.h"
#include "sim/workload/workload.h"
#include "verify/cases.h"
#include "verify/cert_check.h"
#include "verify/oracle.h"
#include "verify/targets.h"

namespace hsr::sim {
namespace {

using verify::ForceTarget;

// Highway targets for a backend: dense-ref and the GPU backends (*-cuda*) have none (0 = no
// forcing); every other backend runs under each chosen target.
std::vector<int64_t> TargetsFor(const std::string& backend, const std::vector<int64_t>& chosen) {
  if (backend == "dense-ref" || backend.find("-cuda") != std::string::npos) return {0};
  return chosen;
}

std::string TargetName(int64_t t) { return t == 0 ? "-" : hwy::TargetName(t); }

// The target the dispatcher picks with no forcing (what `best` runs).
int64_t BestTarget() {
  const std::vector<int64_t> all = verify::CompiledTargets();
  return all.empty() ? 0 : all.front();
}

class Counter {
 public:
  explicit Counter(const VerifyOptions& o, VerifyReport* r, std::vector<int64_t> targets)
      : o_(o), r_(r), targets_(std::move(targets)) {}
  VerifyReport* report() { return r_; }
  const std::vector<int64_t>& targets() const { return targets_; }
  // One run of `what` not checked, for `reason` (counted per (what, reason)).
  void Skip(const std::string& what, const std::string& reason) {
    ++r_->skipped;
    for (auto& s : r_->skips) {
      if (s.what == what && s.reason == reason) {
        ++s.runs;
        return;
      }
    }
    r_->skips.push_back({what, reason, 1});
  }
  void Check(const std::string& property, bool ok, const std::string& backend, int64_t target,
             const std::string& detail, const std::string& reproduce) {
    auto it = std::find_if(r_->properties.begin(), r_->properties.end(),
                           [&](const PropertyCount& p) { return p.name == property; });
    if (it == r_->properties.end()) {
      r_->properties.push_back({property, 0, 0});
      it = r_->properties.end() - 1;
    }
    if (ok) {
      ++it->passed;
      return;
    }
    ++it->failed;
    VerifyFailure f{property, backend, TargetName(target), detail, reproduce};
    if (o_.log) {
      o_.log(fmt::format("FAIL {} [{} {}]: {}\n  reproduce: {}", property, backend, f.target,
                         detail, reproduce));
    }
    r_->failures.push_back(std::move(f));
  }

 private:
  const VerifyOptions& o_;
  VerifyReport* r_;
  std::vector<int64_t> targets_;
};

// Softmax rows of a backend that is not exact (HSR): checked against their certificate
// (verify/cert_check.h) instead of the dense tolerance. Only hsr-cpu reports per-row eps;
// other approximate backends are skipped (and counted).
bool CertifiedSoftmax(AttentionKind kind, const std::string& name) {
  return kind == AttentionKind::kSoftmax && !ExactSoftmaxBackend(name);
}
bool Checkable(AttentionKind kind, const std::string& name) {
  return !CertifiedSoftmax(kind, name) || name == "hsr-cpu";
}

// The oracle comparison of one output: dense tolerance, or the row certificates (HSR softmax).
std::pair<bool, std::string> CompareOutput(const verify::Oracle& oracle, const KvCache& kv,
                                           size_t group, AttentionBackend& backend,
                                           AttentionKind kind, ConstHeadsView out) {
  if (CertifiedSoftmax(kind, std::string(backend.Name()))) {
    const auto* hsr = dynamic_cast<const HsrCpuBackend*>(&backend);
    if (hsr == nullptr) return {false, "no per-row certificate to check"};
    const verify::CertCheck cc =
        verify::CheckSoftmaxCertificate(oracle, kv, group, out, hsr->LastStats().rows);
    return {cc.ok, cc.ok ? fmt::format("{} rows within 2 eps max|v| + 2 tol", cc.rows) : cc.detail};
  }
  const verify::Comparison cmp = oracle.Compare(out);
  return {cmp.ok, cmp.Describe()};
}

void Perturb(HeadsView out) {
  if (out.heads == 0 || out.rows == 0 || out.cols == 0) return;
  float& x = out.Head(0)(0, 0);
  x = x + 1.0f + std::abs(x);
}

void RunGeneratedCase(uint64_t case_seed, const std::vector<std::string>& backends,
                      const VerifyOptions& o, Counter& counter) {
  const verify::AttentionCase c = verify::SeededAttentionCase(case_seed);
  verify::CaseBuffers buf(c);
  const verify::Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  for (const std::string& name : backends) {
    if (!Checkable(c.kind, name)) {
      counter.Skip(name + " softmax", "no per-row certificate to check it against");
      continue;
    }
    const std::string repro = fmt::format("hsr verify --seed {} --cases 1 --backend {}{}",
                                          case_seed, name, o.inject_fault ? " --inject-fault" : "");
    for (int64_t target : TargetsFor(name, counter.targets())) {
      const ForceTarget force(target);
      auto backend = MakeBackend(name, c.threads);
      const std::string where = fmt::format("case {}", c.Describe());
      AttentionShape shape{c.hq, c.hkv, c.m, c.n, c.d, c.dv, c.kind, c.causal};
      if (!backend->Supports(shape)) {  // e.g. hsr-cuda: ReLU decode only
        counter.Skip(name + " " + std::string(ToString(c.kind)) + (c.decode ? " decode" : " prefill"),
                     "shape not supported by the backend");
        continue;
      }
      buf.ResetOut();
      AttentionStats stats;
      std::string error;
      try {
        buf.Run(*backend, &stats);
      } catch (const std::exception& e) {
        error = e.what();
      }
      counter.Check("runs without error", error.empty(), name, target,
                    where + "; threw: " + error, repro);
      if (!error.empty()) continue;
      if (o.inject_fault) Perturb(buf.Out());
      const auto [ok, detail] =
          CompareOutput(oracle, buf.Kv(), c.hq / c.hkv, *backend, c.kind, buf.Out());
      counter.Check(CertifiedSoftmax(c.kind, name)
                        ? "softmax error within its certificate (2 eps max|v| + 2 tol)"
                        : "equals float64 oracle within derived tolerance",
                    ok, name, target, where + "; " + detail, repro);
      counter.Check("writes only its output view", buf.PaddingUntouched(), name, target, where,
                    repro);
      counter.Check("counts every query row", stats.queries == c.hq * c.m, name, target,
                    fmt::format("{}; stats.queries {} expected {}", where, stats.queries,
                                c.hq * c.m), repro);
      const bool empty_ok = stats.empty_rows + oracle.ambiguous_rows() >= oracle.empty_rows() &&
                            stats.empty_rows <= oracle.empty_rows() + oracle.ambiguous_rows();
      counter.Check("empty rows agree with the oracle", empty_ok, name, target,
                    fmt::format("{}; empty_rows {} oracle {} ambiguous {}", where,
                                stats.empty_rows, oracle.empty_rows(), oracle.ambiguous_rows()),
                    repro);
    }
  }
}

// Every half-space index must report exactly scan's set (docs/design.md §1: the strict s > b report
// of the shared float32 score kernel), per kv head, for every query row of the case's query heads
// that read it, with the case's threshold (ReLU) or 0 (softmax), under every Highway target.
void RunIndexCase(uint64_t case_seed, const VerifyOptions& o, Counter& counter) {
  const verify::AttentionCase c = verify::SeededAttentionCase(case_seed);
  verify::CaseBuffers buf(c);
  const AttentionParams p = buf.Params();
  const ConstHeadsView q = buf.Q();
  const KvCache& kv = buf.Kv();
  const size_t group = c.hq / c.hkv;
  const float scale = p.ScaleFor(c.d);
  for (int64_t target : counter.targets()) {
    const ForceTarget force(target);
    for (size_t g = 0; g < c.hkv; ++g) {
      auto scan = MakeIndex("scan");
      scan->Build(kv.k().Head(g), scale);
      for (const std::string& name : o.indexes) {
        if (name == "scan") continue;
        const std::string repro = fmt::format("hsr verify --seed {} --cases 1 --index {}", case_seed, name);
        std::string error;
        size_t differing = 0, rows = 0;
        try {
          auto index = MakeIndex(name);
          index->Build(kv.k().Head(g), scale);
          std::vector<uint32_t> want, got;
          for (size_t h = g * group; h < (g + 1) * group; ++h) {
            for (size_t i = 0; i < c.m; ++i, ++rows) {
              const float b = c.kind == AttentionKind::kRelu ? p.ThresholdFor(h, c.m, i) : 0.0f;
              scan->Query(q.Head(h).RowSpan(i), b, &want, nullptr);
              index->Query(q.Head(h).RowSpan(i), b, &got, nullptr);
              std::sort(want.begin(), want.end());
              std::sort(got.begin(), got.end());
              if (o.inject_fault && !got.empty()) got.pop_back();
              differing += want != got ? 1 : 0;
            }
          }
        } catch (const std::exception& e) {
          error = e.what();
        }
        counter.Check("index: runs without error", error.empty(), name, target,
                      fmt::format("case {}; threw: {}", c.Describe(), error), repro);
        if (!error.empty()) continue;
        counter.Check("index: reports exactly scan's set", differing == 0, name, target,
                      fmt::format("case {}; kv head {}: {} of {} query rows differ from scan",
                                  c.Describe(), g, differing, rows), repro);
      }
    }
  }
}

// Blocks of consecutive query rows of a workload: each block [a, a + B) is checked against the
// keys it may see. Causal: the first a + B + n - m keys with the causal mask (row a + t sees keys
// j <= a + t + n - m, the recording's mask), through Decode and through Prefill (the same
// output, backend.h); otherwise all keys with Decode.
void RunWorkload(const std::string& spec_text, const std::vector<std::string>& backends,
                 const VerifyOptions& o, Counter& counter) {
  WorkloadSpec spec = ParseWorkloadSpec(spec_text);
  if (IsPathKind(spec.kind) && !spec.Has("m")) spec.Set("m", "all");
  const auto source = MakeWorkloadSource(spec);
  const Workload w = source->Make();
  const size_t B = std::min(o.block_rows, w.m);
  std::mt19937_64 rng(o.seed);
  for (size_t blk = 0; blk < o.blocks && B > 0; ++blk) {
    // The first block is the last rows (the decode position); the others are seeded.
    const size_t a = blk == 0 ? w.m - B : std::uniform_int_distribution<size_t>(0, w.m - B)(rng);
    const size_t keys = w.causal ? std::min(w.n, a + B + w.n - w.m) : w.n;
    const ConstHeadsView q(w.q.data() + a * w.d, w.q_heads, B, w.d, w.d, w.m * w.d);
    const KvCache kv(ConstHeadsView(w.k.data(), w.kv_heads, keys, w.d, w.d, w.n * w.d),
                     ConstHeadsView(w.v.data(), w.kv_heads, keys, w.dv, w.dv, w.n * w.dv));
    for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
      AttentionParams p;
      p.kind = kind;
      if (w.scale > 0) p.scale = w.scale;
      p.causal = w.causal;
      const verify::Oracle oracle(q, kv, p);
      for (const bool decode : w.causal ? std::vector<bool>{true, false} : std::vector<bool>{true})
      for (const std::string& name : backends) {
        if (!Checkable(kind, name)) {
          counter.Skip(name + " softmax", "no per-row certificate to check it against");
          continue;
        }
        const std::string repro = fmt::format(
            "hsr verify --cases 0 --seed {} --workload {} --backend {}{}", o.seed, source->Describe(),
            name, o.inject_fault ? " --inject-fault" : "");
        for (int64_t target : TargetsFor(name, counter.targets())) {
          const ForceTarget force(target);
          auto backend = MakeBackend(name, 1);
          const AttentionShape shape{w.q_heads, w.kv_heads, B, keys, w.d, w.dv, kind, p.causal};
          if (!backend->Supports(shape)) {  // e.g. hsr-cuda: ReLU decode only
            counter.Skip(name + " " + std::string(ToString(kind)) +
                             (decode ? " decode" : " prefill"),
                         "shape not supported by the backend");
            continue;
          }
          Tensor out(w.q_heads, B, w.dv);
          AttentionStats stats;
          std::string error;
          try {
            if (decode) backend->Decode(q, kv, p, out.Heads(), &stats);
            else backend->Prefill(q, kv, p, out.Heads(), &stats);
          } catch (const std::exception& e) {
            error = e.what();
          }
          const std::string where = fmt::format("workload {} rows [{}, {}) keys {} {} {}",
                                                source->Describe(), a, a + B, keys,
                                                ToString(kind), decode ? "Decode" : "Prefill");
          counter.Check("workload: runs without error", error.empty(), name, target,
                        where + "; threw: " + error, repro);
          if (!error.empty()) continue;
          if (o.inject_fault) Perturb(out.Heads());
          const auto [ok, detail] = CompareOutput(oracle, kv, w.q_heads / w.kv_heads, *backend,
                                                  kind, out.Heads());
          counter.Check(CertifiedSoftmax(kind, name)
                            ? "workload: softmax error within its certificate"
                            : "workload: equals float64 oracle within derived tolerance",
                        ok, name, target, where + "; " + detail, repro);
        }
      }
    }
  }
}

}  // namespace

std::vector<std::string> IndexNamesForVerify() { return IndexNames(); }

bool ExactSoftmaxBackend(const std::string& backend) { return backend.rfind("dense-", 0) == 0; }

size_t VerifyReport::Passed() const {
  size_t n = 0;
  for (const auto& p : properties) n += p.passed;
  return n;
}

VerifyReport RunVerify(const VerifyOptions& o) {
  for (const auto& i : o.indexes) MakeIndex(i);  // unknown index names fail before any work
  for (const auto& s : o.workloads) MakeWorkloadSource(ParseWorkloadSpec(s));  // spec errors
  VerifyReport report;
  // Backends: each asked for (default: every built one) that cannot be constructed here (a GPU
  // backend without a device) is skipped with its reason; unknown names are errors.
  std::vector<std::string> backends;
  const std::vector<std::string> known = BackendNames();
  for (const auto& b : o.backends.empty() ? known : o.backends) {
    try {
      MakeBackend(b, 1);
      backends.push_back(b);
    } catch (const Error& e) {
      const std::string what = e.what(), prefix = b + ": ";
      if (std::find(known.begin(), known.end(), b) == known.end()) throw;
      report.skips.push_back({"backend " + b,
                              what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what, 0});
    }
  }
  // Targets: those asked for, else every name; each this machine cannot run is skipped with its
  // reason (with no --target, that names what Highway or this build lacks).
  std::vector<int64_t> targets;
  const std::vector<std::string> names = o.targets.empty() ? TargetNames() : o.targets;
  for (const auto& name : names) {
    if (name == "best") {
      if (!o.targets.empty()) targets.push_back(0);
      continue;
    }
    const TargetChoice c = LookupTarget(name);
    if (!c.unavailable.empty()) {
      report.skips.push_back({"target " + name, c.unavailable, 0});
      continue;
    }
    if (std::find(targets.begin(), targets.end(), c.bits) == targets.end()) {
      targets.push_back(c.bits);
    }
  }
  report.backends = backends;
  for (int64_t t : targets) report.targets.push_back(TargetName(t == 0 ? BestTarget() : t));
  Counter counter(o, &report, targets);
  for (size_t c = 0; c < o.cases; ++c) {
    RunGeneratedCase(o.seed + c, backends, o, counter);
    if (c % kIndexCaseStride == 0) RunIndexCase(o.seed + c, o, counter);
  }
  report.cases = o.cases;
  for (const auto& s : o.workloads) RunWorkload(s, backends, o, counter);
  return report;
}

}  // namespace hsr::sim
