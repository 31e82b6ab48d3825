// DecodeEngine (decode_engine.h): plain C++ around the per-target SparseKernels.
#include "core/hsr/decode_engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/attention/dense_hwy.h"
#include "core/attention/validate.h"
#include "core/base/clock.h"
#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "core/hsr/sample_scores.h"
#include "core/hsr/softmax_cert.h"
#include "core/hsr/sparse_kernels.h"
#include "core/index/batch_report.h"
#include "core/index/sketch8.h"

namespace hsr {
namespace {

// Per-thread buffers, reused across rows.
struct Scratch {
  std::vector<uint32_t> ids;
  std::vector<float> scores, weights, sample_scores, acc;
  CertScratch cert;
  SampleScratch sample;
  std::unique_ptr<ThreadPool> solo;  // dense fallback rows inside a pool task (one thread)
};

// What every row of one call shares. Read-only while the rows run, except *gather_parts (used
// only when the rows run in turn).
struct CallCtx {
  SparseKernels kern;
  ConstHeadsView q;
  HeadsView out;
  const AttentionParams* p = nullptr;
  bool relu = false, causal = false;
  std::optional<ThresholdPolicy> policy;  // CallPolicy; none: thresholds from params
  bool err_policy = false;                // softmax err=E
  size_t m = 0, n = 0, d = 0, dv = 0, group = 1;
  float scale = 1.0f;
  const PrecomputedReports* pre = nullptr;      // thresholds and first reports, or null
  std::vector<ThresholdEstimate> est;           // the policy's estimates (without pre)
  std::vector<uint64_t> est_bytes;              // their sample bytes
  ThreadPool* pool = nullptr;                   // the engine's
  // Rows spread over pool (single-threaded indexes); otherwise rows run in turn and a row's
  // gather, dense fallback and sketch selection use pool.
  bool rows_parallel = false;
  std::vector<float>* gather_parts = nullptr;
};

// One kv head as a row reads it.
struct HeadData {
  const float* k = nullptr;  // n x d, stride d
  const float* v = nullptr;  // n x dv, stride dv
  const HalfSpaceIndex* index = nullptr;  // null when not built (precomputed reports)
  const PackedSample* sample = nullptr;   // the kv head's packed threshold sample (or null)
};

// Parts of >= kGatherPart ids, summed in part order: a row's gather over the engine's pool (rows
// in turn) depends on the thread count only.
constexpr size_t kGatherPart = 1024;
// err=E without per-key bounds: tau is lowered at most this many times.
constexpr int kErrSteps = 4;

// The softmax certificate of the row's set S (the ids and ScoreRun scores in Scratch).
struct Certificate {
  double M = 0.0;  // max_S s
  double Z = 0.0;  // sum_S e^(s - M)
  double eps = 1.0, eps_tau = 1.0, eps_sketch = -1.0;  // as HsrRowStats
};

// A row's threshold when nothing is precomputed (decode_engine.h): per-query b, the policy's
// estimate, or p.b.
float RowThreshold(const CallCtx& c, size_t task) {
  if (!c.p->b_per_query.empty()) return c.p->b_per_query[task];
  if (c.policy) return c.est[task].b;
  return c.p->b;
}

// Whether GroupedReports runs kv heads in parallel (each head's batch on one thread): when one
// head's batch has fewer tasks (kBatchRows rows x kBatchKeyPart keys) than the pool has threads.
bool GroupedHeadsParallel(const CallCtx& c, size_t kv) {
  return kv > 1 && Sketch8Index::BatchTasks(c.group * c.m, c.n) < c.pool->NumThreads();
}

// The first reports of rows that share a kv head (HsrOptions::batch_rows), as the rows' index
// queries would give them: per kv head g (sketches[g]) one ReportPrefixBatch over its rows
// (tasks h * m + i for the group's heads h, contiguous), every row seeing all n keys. Kv heads
// run in parallel when heads_parallel (GroupedHeadsParallel; then estimate, if set, first fills
// c.est and c.est_bytes for head g's rows on that head's thread: one pool hand-over per call
// instead of two); otherwise in turn, each over the pool. The rows' bytes: their sample's, a share of one
// pass over the codes and bounds, and their candidates' float32 rows.
void GroupedReports(const CallCtx& c, const std::vector<const Sketch8Index*>& sketches,
                    bool heads_parallel,
                    const std::function<void(size_t g, size_t thread)>& estimate,
                    PrecomputedReports* pre) {
  const size_t rows = c.q.heads * c.m, per_kv = c.group * c.m, kv = sketches.size();
  pre->b.resize(rows);
  pre->est.assign(rows, ThresholdEstimate{});
  pre->bytes.assign(rows, 0);
  struct KvBatch {
    std::vector<float> q;  // per_kv x d, the group's rows in task order
    ReportBatch ids;
    std::vector<uint64_t> cand;
    std::vector<float> scores;
    std::vector<double> tails;
  };
  std::vector<KvBatch> batch(kv);
  const std::vector<uint32_t> limits(per_kv, static_cast<uint32_t>(c.n));
  auto screen = [&](size_t g, size_t thread, ThreadPool* pool) {
    if (estimate) estimate(g, thread);
    KvBatch& kb = batch[g];
    kb.q.resize(per_kv * c.d);
    for (size_t r = 0; r < per_kv; ++r) {
      const size_t task = g * per_kv + r;
      pre->b[task] = RowThreshold(c, task);
      if (c.policy) {
        pre->est[task] = c.est[task];
        pre->bytes[task] = c.est_bytes[task];
      }
      const float* row = c.q.Head(task / c.m).Row(task % c.m);
      std::copy(row, row + c.d, kb.q.begin() + r * c.d);
    }
    sketches[g]->ReportPrefixBatch(ConstMatrixView(kb.q.data(), per_kv, c.d),
                                   std::span<const float>(pre->b).subspan(g * per_kv, per_kv),
                                   limits, pool, &kb.ids, &kb.cand, &kb.scores,
                                   c.relu ? nullptr : &kb.tails);
  };
  if (heads_parallel) {
    c.pool->Run(kv, [&](size_t g, size_t thread) { screen(g, thread, nullptr); });
  } else {
    for (size_t g = 0; g < kv; ++g) screen(g, 0, c.pool);
  }
  pre->ids.offsets.assign(rows + 1, 0);
  pre->ids.ids.clear();
  pre->scores.clear();
  pre->candidates.assign(rows, 0);
  pre->tail.assign(c.relu ? 0 : rows, -1.0);
  for (size_t g = 0; g < kv; ++g) {
    const KvBatch& kb = batch[g];
    const uint64_t base = pre->ids.ids.size();
    pre->ids.ids.insert(pre->ids.ids.end(), kb.ids.ids.begin(), kb.ids.ids.end());
    pre->scores.insert(pre->scores.end(), kb.scores.begin(), kb.scores.end());
    for (size_t r = 0; r < per_kv; ++r) {
      const size_t task = g * per_kv + r;
      pre->ids.offsets[task + 1] = base + kb.ids.offsets[r + 1];
      pre->candidates[task] = kb.cand[r];
      if (!c.relu) pre->tail[task] = kb.tails[r];
      pre->bytes[task] += c.n * sketches[g]->BoundBytesPerKey() / per_kv +
                          kb.cand[r] * c.d * sizeof(float);
    }
  }
}

// One query row (task h * m + i) of a call, answered by Run() (decode_engine.h, header comment).
class RowSolver {
 public:
  RowSolver(const CallCtx& c, HeadData hd, size_t task, Scratch* sc, IndexStats* ist,
            HsrRowStats* rs)
      : c_(c), hd_(hd), task_(task), h_(task / c.m), i_(task % c.m), sc_(*sc), ist_(*ist),
        rs_(*rs) {
    qr_ = c.q.Head(h_).Row(i_);
    o_ = c.out.Head(h_).Row(i_);
    visible_ = VisibleKeys(c.causal, i_, c.m, c.n);
  }

  void Run() {
    rs_.visible = static_cast<uint32_t>(visible_);
    if (visible_ == 0) return ZeroRow();
    const float t = Threshold();
    if (c_.err_policy && SketchRow(t)) return;
    rs_.b = t;
    Report(t);
    rs_.reported = static_cast<uint32_t>(sc_.ids.size());
    if (c_.relu) {
      ReluRow(t);
    } else {
      SoftmaxRow(t);
    }
  }

 private:
  // The row's threshold (decode_engine.h): precomputed, per-query b, the policy's estimate, or
  // p.b. The sample scores kept for an err= lowering are cleared (recomputed when needed).
  float Threshold() {
    if (c_.pre) {
      rs_.mu = c_.pre->est[task_].mu;
      rs_.sigma = c_.pre->est[task_].sigma;
      sc_.sample_scores.clear();
      return c_.pre->b[task_];
    }
    if (c_.policy) {
      const ThresholdEstimate& e = c_.est[task_];
      rs_.bytes_read += c_.est_bytes[task_];
      sc_.sample_scores.clear();
      rs_.mu = e.mu;
      rs_.sigma = e.sigma;
    }
    return RowThreshold(c_, task_);
  }

  // R(q, thr) among the visible keys into sc.ids, with the ScoreRun score of each in sc.scores;
  // softmax rows also get the index's bound on the unreported keys' sum of e^(s_j - thr)
  // (have_tail_). The first report of a row with precomputed reports is taken from them.
  void Report(float thr) {
    IndexStats one;
    if (c_.pre && rs_.queries == 0) {  // computed ahead with the same thr
      const size_t begin = c_.pre->ids.offsets[task_], end = c_.pre->ids.offsets[task_ + 1];
      sc_.ids.assign(c_.pre->ids.ids.begin() + begin, c_.pre->ids.ids.begin() + end);
      sc_.scores.assign(c_.pre->scores.begin() + begin, c_.pre->scores.begin() + end);
      one.queries = 1;
      one.candidates = c_.pre->candidates[task_];
      one.reported = end - begin;
      one.bytes_read = c_.pre->bytes[task_];
      // The screen's per-key-bound tail where it has one; otherwise the tau certificate.
      have_tail_ = !c_.relu && !c_.pre->tail.empty() && c_.pre->tail[task_] >= 0.0;
      if (have_tail_) tail_ = c_.pre->tail[task_];
    } else {
      have_tail_ = hd_.index->QueryPrefixTail(std::span<const float>(qr_, c_.d), thr, visible_,
                                              &sc_.ids, &one, c_.relu ? nullptr : &tail_,
                                              &sc_.scores);
      if (sc_.scores.size() != sc_.ids.size()) {  // the index did not score its report
        sc_.scores.resize(sc_.ids.size());
        c_.kern.score_ids(qr_, hd_.k, c_.d, sc_.ids.data(), sc_.ids.size(), c_.scale,
                          sc_.scores.data());
        rs_.bytes_read += sc_.ids.size() * c_.d * sizeof(float);  // rescored K rows
      }
    }
    ist_.Merge(one);
    ++rs_.queries;
    rs_.candidates += one.candidates;
    rs_.bytes_read += one.bytes_read;
  }

  // ReLU^alpha over R(q, t): w_j = ((s_j - t) / (smax - t))^alpha (relative to the largest
  // weight, as dense). Empty R or no positive weight: a zero row.
  void ReluRow(float t) {
    const size_t count = sc_.ids.size();
    double smax = -std::numeric_limits<double>::infinity();
    for (float s : sc_.scores) smax = std::max(smax, static_cast<double>(s));
    const double top = smax - static_cast<double>(t);
    if (count == 0 || !(top > 0.0)) return ZeroRow();
    sc_.weights.resize(count);
    double total = 0.0;
    for (size_t j = 0; j < count; ++j) {
      const double x = std::max(0.0, (static_cast<double>(sc_.scores[j]) - t) / top);
      double w = x;
      for (int a = 1; a < c_.p->alpha; ++a) w *= x;
      sc_.weights[j] = static_cast<float>(w);
      total += static_cast<double>(sc_.weights[j]);
    }
    if (!(total > 0.0)) return ZeroRow();
    Accumulate(total);
  }

  // Softmax over S = R(q, t) with its certificate; err=E lowers t until eps <= E. An empty S,
  // or an err= row that cannot meet E cheaply, is answered dense.
  void SoftmaxRow(float t) {
    if (sc_.ids.empty()) return DenseRow(t);
    Certificate cert = Certify(t);
    if (c_.err_policy && cert.eps > c_.policy->value && !LowerToTarget(&t, &cert)) {
      return DenseRow(t);
    }
    rs_.b = t;
    rs_.eps = cert.eps;
    rs_.eps_tau = cert.eps_tau;
    rs_.eps_sketch = cert.eps_sketch;
    rs_.reported = static_cast<uint32_t>(sc_.ids.size());
    AccumulateSoftmax(cert.M);
  }

  // eps_tau of S at threshold tau, and eps_sketch when the report came with a tail bound.
  Certificate Certify(float tau) const {
    Certificate cert;
    cert.M = -std::numeric_limits<double>::infinity();
    for (float s : sc_.scores) cert.M = std::max(cert.M, static_cast<double>(s));
    for (float s : sc_.scores) cert.Z += std::exp(static_cast<double>(s) - cert.M);
    const double r = static_cast<double>(visible_ - sc_.ids.size());
    const double shift = std::exp(static_cast<double>(tau) - cert.M);
    cert.eps_tau = CertEps(r * shift, cert.Z);
    // Each dropped key bounded by min(its bound, tau) (softmax_cert.h); the index caps the
    // tail at r, so eps_sketch <= eps_tau up to CertEps's rounding.
    cert.eps_sketch = have_tail_ ? CertEps(tail_ * shift, cert.Z) : -1.0;
    cert.eps = have_tail_ ? cert.eps_sketch : cert.eps_tau;
    return cert;
  }

  // err=E from the first report: tau' = M + ln(E Z / r) gives eps(tau') <= r e^(tau'-M) / Z = E
  // since Z grows and r shrinks; reported again and certified, up to kErrSteps times. *t and
  // *cert follow the last report. False when the row is to be answered dense: the threshold
  // sample puts more than half the keys above tau', or eps is still above E.
  bool LowerToTarget(float* t, Certificate* cert) {
    const double target = c_.policy->value;
    for (int step = 0; cert->eps > target && step < kErrSteps; ++step) {
      const double r = static_cast<double>(visible_ - sc_.ids.size());
      const double want = cert->M + std::log(target * cert->Z / r);
      float tau = static_cast<float>(want);
      if (static_cast<double>(tau) > want) tau = std::nextafter(tau, -INFINITY);
      if (!(tau < *t)) tau = std::nextafter(*t, -INFINITY);
      if (step == 0 && c_.policy->NeedsSample()) {  // the row's sample scores (same bits)
        ThresholdEstimate again;
        EstimateThresholdRows(*c_.policy, c_.q.Head(h_), ConstMatrixView(hd_.k, c_.n, c_.d),
                              c_.scale, c_.causal, i_, i_ + 1, &sc_.sample, &again, nullptr,
                              &sc_.sample_scores, hd_.sample);
      }
      // When the sample says tau' reports most keys, the dense row is cheaper (a fallback).
      size_t above = 0;
      for (float s : sc_.sample_scores) above += s > tau ? 1 : 0;
      if (!sc_.sample_scores.empty() && 2 * above > sc_.sample_scores.size()) return false;
      *t = tau;
      Report(*t);
      *cert = Certify(*t);
    }
    return !(cert->eps > target);
  }

  // err=E with per-key bounds: keys in order of their bound until eps_sketch <= E
  // (softmax_cert.h). False when the index has no trusted bounds for q (the tau path answers).
  bool SketchRow(float t) {
    IndexStats one;
    const SketchSelection sel =
        SelectBySketch(c_.kern, *hd_.index, qr_, hd_.k, c_.d, c_.scale, visible_,
                       c_.policy->value, &sc_.cert, &sc_.ids, &sc_.scores, &one,
                       c_.rows_parallel ? nullptr : c_.pool);
    ist_.Merge(one);
    rs_.bytes_read += one.bytes_read;
    if (sel.status == SketchSelection::Status::kUnsupported) return false;
    rs_.queries += 1;
    if (sel.status == SketchSelection::Status::kFallback) {
      DenseRow(t);
      return true;
    }
    rs_.candidates += sc_.ids.size();
    rs_.bytes_read += sc_.ids.size() * c_.d * sizeof(float);
    rs_.b = sel.tau;
    rs_.eps = sel.eps_sketch;
    rs_.eps_sketch = sel.eps_sketch;
    rs_.eps_tau = sel.eps_tau;
    rs_.reported = static_cast<uint32_t>(sc_.ids.size());
    AccumulateSoftmax(sel.m);
    return true;
  }

  // o = sum_j w_j V[id_j] / total over the row's ids and sc.weights.
  void Accumulate(double total) {
    const std::vector<uint32_t>& ids = sc_.ids;
    sc_.acc.assign(c_.dv, 0.0f);
    const size_t parts =
        c_.rows_parallel ? 1 : std::min(c_.pool->NumThreads(), ids.size() / kGatherPart);
    if (parts <= 1) {
      c_.kern.gather_accumulate(hd_.v, c_.dv, ids.data(), sc_.weights.data(), ids.size(),
                                sc_.acc.data());
    } else {
      std::vector<float>& gp = *c_.gather_parts;
      gp.assign(parts * c_.dv, 0.0f);
      c_.pool->Run(parts, [&](size_t part, size_t /*thread*/) {
        const size_t b0 = ids.size() * part / parts, b1 = ids.size() * (part + 1) / parts;
        c_.kern.gather_accumulate(hd_.v, c_.dv, ids.data() + b0, sc_.weights.data() + b0,
                                  b1 - b0, gp.data() + part * c_.dv);
      });
      for (size_t part = 0; part < parts; ++part) {
        for (size_t col = 0; col < c_.dv; ++col) sc_.acc[col] += gp[part * c_.dv + col];
      }
    }
    rs_.bytes_read += ids.size() * c_.dv * sizeof(float);
    const double inv = 1.0 / total;
    for (size_t col = 0; col < c_.dv; ++col) o_[col] = static_cast<float>(sc_.acc[col] * inv);
  }

  // Softmax weights w_j = e^(s_j - M) over the row's ids, then Accumulate.
  void AccumulateSoftmax(double M) {
    sc_.weights.resize(sc_.ids.size());
    double total = 0.0;
    for (size_t j = 0; j < sc_.ids.size(); ++j) {
      sc_.weights[j] = static_cast<float>(std::exp(static_cast<double>(sc_.scores[j]) - M));
      total += static_cast<double>(sc_.weights[j]);
    }
    Accumulate(total);
  }

  // Dense row over the visible keys (never silent: counted as a fallback): dense-hwy's decode
  // kernel over the visible prefix (split-K over the engine's pool when rows run in turn; the
  // row's own thread otherwise), so the same output as a dense-hwy run.
  void DenseRow(float thr) {
    rs_.fallback = true;
    rs_.eps = 0.0;
    rs_.eps_tau = 0.0;
    rs_.eps_sketch = -1.0;
    rs_.b = thr;
    rs_.reported = static_cast<uint32_t>(visible_);
    rs_.bytes_read += visible_ * (c_.d + c_.dv) * sizeof(float);
    AttentionParams dp;
    dp.kind = AttentionKind::kSoftmax;
    dp.scale = c_.scale;
    if (c_.rows_parallel && !sc_.solo) sc_.solo = std::make_unique<ThreadPool>(1);
    DenseHwyAttentionValidated(ConstHeadsView(qr_, 1, 1, c_.d),
                               ConstHeadsView(hd_.k, 1, visible_, c_.d),
                               ConstHeadsView(hd_.v, 1, visible_, c_.dv), dp,
                               HeadsView(o_, 1, 1, c_.dv),
                               c_.rows_parallel ? *sc_.solo : *c_.pool, nullptr);
  }

  void ZeroRow() {
    std::fill(o_, o_ + c_.dv, 0.0f);
    rs_.empty = true;
  }

  const CallCtx& c_;
  const HeadData hd_;
  const size_t task_, h_, i_;
  Scratch& sc_;
  IndexStats& ist_;
  HsrRowStats& rs_;
  const float* qr_ = nullptr;
  float* o_ = nullptr;
  size_t visible_ = 0;
  double tail_ = 0.0;       // the last report's tail bound (when have_tail_)
  bool have_tail_ = false;
};

}  // namespace

// Attend's per-thread buffers: their capacity stays with the engine, so a call allocates only
// what its rows need beyond the largest earlier call (and the sample ids are drawn once per n).
struct DecodeEngine::CallScratch {
  std::vector<Scratch> rows;          // per pool thread
  std::vector<SampleScratch> sample;  // EstimateThresholdHeads's, per pool thread
  // Per kv head: the threshold sample of the last call's first rows, its key rows packed
  // (sample_scores.h), advanced as keys are appended.
  std::vector<PackedSample> packed;
  std::vector<IndexStats> index_stats;
};

std::optional<ThresholdPolicy> CallPolicy(const HsrOptions& options, const AttentionParams& p) {
  if (!p.b_per_query.empty()) return std::nullopt;
  if (options.threshold) return options.threshold;
  if (p.kind != AttentionKind::kRelu) return ThresholdPolicy{};  // softmax default: paper
  return std::nullopt;
}

std::string CallThresholdName(const std::optional<ThresholdPolicy>& policy,
                              const AttentionParams& p) {
  if (!p.b_per_query.empty()) return "per-query b";
  if (policy) return policy->ToString();
  return fmt::format("b={}", p.b);
}

DecodeEngine::DecodeEngine(const KvCache& kv, float scale, const HsrOptions& options, bool copy,
                           bool build_index)
    : options_(options) {
  HSR_CHECK(std::isfinite(scale) && scale > 0.0f, "DecodeEngine: expected a finite scale > 0, got {}",
            scale);
  HSR_CHECK(options.threads >= 1, "DecodeEngine: expected threads >= 1, got {}", options.threads);
  HSR_CHECK(kv.heads() >= 1, "DecodeEngine: expected at least 1 kv head, got 0");
  if (options.threshold) CheckThresholdFor(*options.threshold, kv.n());
  MakeIndex(options.index);  // throws on an unknown name before any copy
  n_ = kv.n();
  d_ = kv.d();
  dv_ = kv.dv();
  scale_ = scale;
  max_abs_k_ = kv.max_abs_k();
  io_ = options.index_options;
  io_.threads = options.index_threads == 0 ? options.threads : options.index_threads;
  options_.index_threads = io_.threads;
  heads_.resize(kv.heads());
  for (size_t h = 0; h < kv.heads(); ++h) {
    Head& hd = heads_[h];
    const ConstMatrixView kh = kv.k().Head(h), vh = kv.v().Head(h);
    const bool dense = kh.stride == d_ && vh.stride == dv_;
    if (copy || !dense) {
      hd.k_own.resize(n_ * d_);
      hd.v_own.resize(n_ * dv_);
      for (size_t j = 0; j < n_; ++j) {
        std::memcpy(hd.k_own.data() + j * d_, kh.Row(j), d_ * sizeof(float));
        std::memcpy(hd.v_own.data() + j * dv_, vh.Row(j), dv_ * sizeof(float));
      }
      hd.k = hd.k_own.data();
      hd.v = hd.v_own.data();
    } else {
      hd.k = kh.data;
      hd.v = vh.data;
    }
  }
  owned_ = true;
  for (const Head& hd : heads_) owned_ = owned_ && hd.k == hd.k_own.data();
  if (build_index) BuildIndexes();
  pool_ = std::make_unique<ThreadPool>(options.threads);
  scratch_ = std::make_unique<CallScratch>();
  scratch_->rows.resize(pool_->NumThreads());
}

void DecodeEngine::BuildIndexes() {
  if (indexed_) return;
  const double t0 = NowUs();
  for (Head& hd : heads_) {
    hd.index = MakeIndex(options_.index, io_);
    hd.index->Build(ConstMatrixView(hd.k, n_, d_), scale_);
  }
  indexed_ = true;
  build_us_ += NowUs() - t0;
}

const HalfSpaceIndex& DecodeEngine::index(size_t kv_head) const {
  HSR_CHECK(indexed_, "DecodeEngine: expected built indexes (build_index or a query that needs "
            "them), got none");
  return *heads_[kv_head].index;
}

std::vector<std::span<const std::byte>> DecodeEngine::Buffers() const {
  std::vector<std::span<const std::byte>> out;
  for (const Head& hd : heads_) {
    if (owned_) {
      out.push_back(std::as_bytes(std::span<const float>(hd.k_own)));
      out.push_back(std::as_bytes(std::span<const float>(hd.v_own)));
    }
    if (hd.index) {
      for (const auto b : hd.index->Buffers()) out.push_back(b);
    }
  }
  for (const PackedSample& ps : scratch_->packed) {
    if (ps.capacity > 0) {
      out.push_back(std::as_bytes(std::span<const float>(ps.blocks.get(), ps.capacity)));
    }
  }
  return out;
}

DecodeEngine::~DecodeEngine() = default;

void DecodeEngine::MakeOwned() {
  if (owned_) return;
  for (Head& hd : heads_) {
    if (hd.k != hd.k_own.data()) {
      hd.k_own.assign(hd.k, hd.k + n_ * d_);
      hd.v_own.assign(hd.v, hd.v + n_ * dv_);
      hd.k = hd.k_own.data();
      hd.v = hd.v_own.data();
    }
  }
  owned_ = true;
}

void DecodeEngine::Append(ConstMatrixView k, ConstMatrixView v) {
  const size_t hk = heads_.size();
  HSR_CHECK(k.rows == hk && k.cols == d_,
            "Append: expected k of shape [{}, {}] (kv heads, d), got [{}, {}]", hk, d_, k.rows,
            k.cols);
  HSR_CHECK(v.rows == hk && v.cols == dv_,
            "Append: expected v of shape [{}, {}] (kv heads, dv), got [{}, {}]", hk, dv_, v.rows,
            v.cols);
  HSR_CHECK(n_ + 1 < std::numeric_limits<uint32_t>::max(),
            "Append: expected fewer than 2^32 - 1 keys, got {}", n_ + 1);
  float max_k = max_abs_k_;
  for (size_t h = 0; h < hk; ++h) {
    for (size_t c = 0; c < d_; ++c) {
      const float x = k(h, c);
      HSR_CHECK(std::isfinite(x), "Append: expected finite k, got {} at [head {}, col {}]", x, h, c);
      max_k = std::max(max_k, std::fabs(x));
    }
    for (size_t c = 0; c < dv_; ++c) {
      HSR_CHECK(std::isfinite(v(h, c)), "Append: expected finite v, got {} at [head {}, col {}]",
                v(h, c), h, c);
    }
  }
  MakeOwned();
  for (size_t h = 0; h < hk; ++h) {
    Head& hd = heads_[h];
    if (indexed_) hd.index->Insert(k.RowSpan(h));  // else a later build covers the new key
    hd.k_own.insert(hd.k_own.end(), k.Row(h), k.Row(h) + d_);
    hd.v_own.insert(hd.v_own.end(), v.Row(h), v.Row(h) + dv_);
    hd.k = hd.k_own.data();
    hd.v = hd.v_own.data();
  }
  max_abs_k_ = max_k;
  ++n_;
}

void DecodeEngine::Decode(ConstHeadsView q, const AttentionParams& p, HeadsView out,
                          HsrCallStats* st) {
  Attend(q, p, /*causal=*/false, out, st);
}

void DecodeEngine::CheckCall(ConstHeadsView q, const AttentionParams& p, HeadsView out,
                             const std::optional<ThresholdPolicy>& policy,
                             const PrecomputedReports* pre) const {
  constexpr const char* kWhere = "hsr";
  const float max_q = CheckHeads(kWhere, "q", q);
  const size_t hk = heads_.size();
  HSR_CHECK(q.cols == d_, "{}: expected Q with d={} (as K), got d={}", kWhere, d_, q.cols);
  HSR_CHECK(q.heads % hk == 0, "{}: expected query heads a multiple of {} kv heads, got {}",
            kWhere, hk, q.heads);
  HSR_CHECK(out.heads == q.heads && out.rows == q.rows && out.cols == dv_,
            "{}: expected out of shape [{}, {}, {}], got [{}, {}, {}]", kWhere, q.heads, q.rows,
            dv_, out.heads, out.rows, out.cols);
  HSR_CHECK(out.stride >= out.cols && (out.rows == 0 || out.data != nullptr),
            "{}: expected out with stride >= {} and data", kWhere, out.cols);
  const float scale = p.ScaleFor(d_);
  HSR_CHECK(scale == scale_, "{}: expected scale {} (the index's), got {}", kWhere, scale_, scale);
  const bool relu = p.kind == AttentionKind::kRelu;
  if (relu) {
    HSR_CHECK(p.alpha >= 1 && p.alpha <= 16, "{}: expected integer alpha in [1, 16], got {}",
              kWhere, p.alpha);
    HSR_CHECK(std::isfinite(p.b), "{}: expected a finite threshold b, got {}", kWhere, p.b);
  }
  if (!p.b_per_query.empty()) {
    HSR_CHECK(p.b_per_query.size() == q.heads * q.rows,
              "{}: expected {} per-query thresholds (heads x m), got {}", kWhere,
              q.heads * q.rows, p.b_per_query.size());
    for (float b : p.b_per_query) {
      HSR_CHECK(std::isfinite(b), "{}: expected finite per-query thresholds, got {}", kWhere, b);
    }
  }
  const double bound = static_cast<double>(scale) * static_cast<double>(d_) * max_q * max_abs_k_;
  HSR_CHECK(bound <= 1e30, "{}: expected |scale * <q, k>| <= 1e30, got a bound of {:g}", kWhere,
            bound);
  if (pre) {
    const size_t rows = q.heads * q.rows;
    HSR_CHECK(pre->b.size() == rows && pre->est.size() == rows && pre->ids.queries() == rows &&
                  pre->candidates.size() == rows && pre->bytes.size() == rows &&
                  (pre->tail.empty() || pre->tail.size() == rows),
              "{}: expected precomputed reports for {} rows, got {}", kWhere, rows,
              pre->ids.queries());
  }
  if (policy) {
    CheckThresholdFor(*policy, n_);
    HSR_CHECK(!(relu && policy->kind == ThresholdPolicy::Kind::kErr),
              "{}: expected a ReLU threshold policy (b=, paper, count=, frac=), got '{}' (err= "
              "applies to softmax)", kWhere, policy->ToString());
  }
}

void DecodeEngine::Attend(ConstHeadsView q, const AttentionParams& p, bool causal, HeadsView out,
                          HsrCallStats* st, const PrecomputedReports* pre) {
  const std::optional<ThresholdPolicy> policy = CallPolicy(options_, p);
  CheckCall(q, p, out, policy, pre);  // nothing is touched before it passes

  CallCtx c;
  c.kern = GetSparseKernels();
  c.q = q;
  c.out = out;
  c.p = &p;
  c.relu = p.kind == AttentionKind::kRelu;
  c.causal = causal;
  c.policy = policy;
  c.err_policy = !c.relu && policy && policy->kind == ThresholdPolicy::Kind::kErr;
  c.m = q.rows;
  c.n = n_;
  c.d = d_;
  c.dv = dv_;
  c.group = q.heads / heads_.size();
  c.scale = scale_;
  c.pre = pre;
  c.pool = pool_.get();
  c.rows_parallel = options_.index_threads == 1 && pool_->NumThreads() > 1;
  std::vector<float> gather_parts;
  c.gather_parts = &gather_parts;
  // Indexes are built on first need: rows with precomputed reports query them only to lower an
  // err= threshold (softmax).
  if (!pre || c.err_policy) BuildIndexes();
  // Rows sharing a kv head are screened together (GroupedReports) when every index is sketch8.
  std::vector<const Sketch8Index*> sketches;
  if (!pre && options_.batch_rows && !causal && !c.err_policy && c.group * c.m >= 2 && n_ > 0) {
    for (const Head& hd : heads_) {
      if (const auto* s = dynamic_cast<const Sketch8Index*>(hd.index.get())) sketches.push_back(s);
    }
    if (sketches.size() != heads_.size()) sketches.clear();
  }
  const bool heads_parallel = !sketches.empty() && GroupedHeadsParallel(c, heads_.size());
  // Thresholds of every row first (rows sharing a sample scored together, sample_scores.h); with
  // kv heads screened in parallel, inside each head's screen task instead (the same bits).
  std::vector<PackedSample>& packed = scratch_->packed;
  std::vector<ConstMatrixView> kv_keys;
  std::function<void(size_t, size_t)> estimate;
  if (!pre && policy) {
    for (size_t g = 0; g < heads_.size(); ++g) kv_keys.push_back(keys(g));
    if (policy->NeedsSample()) {
      // The sample the first rows draw (every row's when not causal, or m <= kSampleRows).
      const size_t range = SampleRange(*policy, causal, 0, q.rows, n_);
      packed.resize(heads_.size());
      for (size_t g = 0; g < heads_.size(); ++g) {
        UpdatePackedSample(*policy, kv_keys[g], range, &packed[g]);
      }
    }
    if (heads_parallel) {
      c.est.assign(q.heads * q.rows, ThresholdEstimate{});
      c.est_bytes.assign(q.heads * q.rows, 0);
      scratch_->sample.resize(pool_->NumThreads());
      estimate = [&](size_t g, size_t thread) {
        EstimateThresholdHeadRange(*policy, q, kv_keys, scale_, causal, g * c.group,
                                   (g + 1) * c.group, &scratch_->sample[thread], c.est.data(),
                                   c.est_bytes.data(), packed);
      };
    } else {
      c.est = EstimateThresholdHeads(*policy, q, kv_keys, scale_, causal, pool_.get(),
                                     &c.est_bytes, &scratch_->sample, packed);
    }
  }
  PrecomputedReports grouped;
  if (!sketches.empty()) {
    GroupedReports(c, sketches, heads_parallel, estimate, &grouped);
    c.pre = &grouped;
  }

  const size_t rows = q.heads * q.rows;
  std::vector<HsrRowStats> row_stats(rows);
  std::vector<IndexStats>& index_stats = scratch_->index_stats;
  index_stats.assign(pool_->NumThreads(), IndexStats{});
  std::vector<Scratch>& scratch = scratch_->rows;
  auto run_row = [&](size_t task, size_t thread) {
    const size_t g = task / c.m / c.group;
    const Head& hd = heads_[g];
    const PackedSample* sample = g < packed.size() && packed[g].valid ? &packed[g] : nullptr;
    RowSolver(c, HeadData{hd.k, hd.v, hd.index.get(), sample}, task, &scratch[thread],
              &index_stats[thread], &row_stats[task])
        .Run();
  };
  if (c.rows_parallel) {
    pool_->Run(rows, run_row);
  } else {
    for (size_t task = 0; task < rows; ++task) run_row(task, 0);
  }
  if (st) FillCallStats(std::move(row_stats), index_stats, policy, p, pre != nullptr, st);
}

void DecodeEngine::FillCallStats(std::vector<HsrRowStats> row_stats,
                                 const std::vector<IndexStats>& index_stats,
                                 const std::optional<ThresholdPolicy>& policy,
                                 const AttentionParams& p, bool precomputed,
                                 HsrCallStats* st) const {
  st->rows = std::move(row_stats);
  st->attention = AttentionStats{};
  st->index = IndexStats{};
  for (const auto& s : index_stats) st->index.Merge(s);
  st->attention.queries = st->rows.size();
  for (const auto& r : st->rows) {
    st->attention.keys_scored += r.candidates + r.reported;
    st->attention.empty_rows += r.empty ? 1 : 0;
    st->attention.fallbacks += r.fallback ? 1 : 0;
  }
  st->reporter = precomputed ? std::string(kBatchReportName) : options_.index;
  st->threshold = CallThresholdName(policy, p);
  if (policy && !precomputed) {
    st->sample_seed = policy->seed;
    st->sample_size = policy->NeedsSample() ? std::min(policy->sample, n_) : 0;
  }
  st->build_us = build_us_;
}

std::vector<float> ResolveThresholds(ConstHeadsView q, const KvCache& kv, float scale,
                                     const ThresholdPolicy& policy, bool causal,
                                     std::vector<ThresholdEstimate>* est) {
  CheckHeads("thresholds", "q", q);
  HSR_CHECK(q.cols == kv.d() && q.heads % kv.heads() == 0,
            "thresholds: expected Q with d={} and heads a multiple of {}, got d={} heads={}",
            kv.d(), kv.heads(), q.cols, q.heads);
  CheckThresholdFor(policy, kv.n());
  std::vector<ConstMatrixView> kv_keys;
  for (size_t g = 0; g < kv.heads(); ++g) kv_keys.push_back(kv.k().Head(g));
  // The engines' pre-pass, run in turn (sample_scores.h: the same thresholds bit for bit).
  std::vector<ThresholdEstimate> e =
      EstimateThresholdHeads(policy, q, kv_keys, scale, causal, nullptr, nullptr);
  std::vector<float> b(e.size());
  for (size_t r = 0; r < e.size(); ++r) b[r] = e[r].b;
  if (est) *est = std::move(e);
  return b;
}

}  // namespace hsr
