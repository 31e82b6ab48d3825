// DecodeEngine (decode_engine.h): plain C++ around the per-target SparseKernels.
#include "core/hsr/decode_engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

// Everything a row needs (one call).
struct CallCtx {
  SparseKernels kern;
  ConstHeadsView q;
  HeadsView out;
  const AttentionParams* p = nullptr;
  bool relu = false, causal = false;
  std::optional<ThresholdPolicy> policy;  // CallPolicy; none: thresholds from params
  size_t m = 0, n = 0, d = 0, dv = 0, group = 1;
  float scale = 1.0f;
};

}  // namespace

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

void DecodeEngine::Attend(ConstHeadsView q, const AttentionParams& p, bool causal, HeadsView out,
                          HsrCallStats* st, const PrecomputedReports* pre) {
  constexpr const char* kWhere = "hsr";
  // ---- Validation (nothing is touched before it passes).
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
                  pre->candidates.size() == rows && pre->bytes.size() == rows,
              "{}: expected precomputed reports for {} rows, got {}", kWhere, rows,
              pre->ids.queries());
  }
  CallCtx c;
  c.policy = CallPolicy(options_, p);
  if (c.policy) {
    CheckThresholdFor(*c.policy, n_);
    HSR_CHECK(!(relu && c.policy->kind == ThresholdPolicy::Kind::kErr),
              "{}: expected a ReLU threshold policy (b=, paper, count=, frac=), got '{}' (err= "
              "applies to softmax)", kWhere, c.policy->ToString());
  }

  // ---- Work.
  // Indexes are built on first need: rows with precomputed reports query them only to lower an
  // err= threshold (softmax).
  const bool err_possible = !relu && c.policy && c.policy->kind == ThresholdPolicy::Kind::kErr;
  if (!pre || err_possible) BuildIndexes();
  c.kern = GetSparseKernels();
  c.q = q;
  c.out = out;
  c.p = &p;
  c.relu = relu;
  c.causal = causal;
  c.m = q.rows;
  c.n = n_;
  c.d = d_;
  c.dv = dv_;
  c.group = q.heads / hk;
  c.scale = scale_;
  const size_t rows = q.heads * q.rows;
  std::vector<HsrRowStats> row_stats(rows);
  std::vector<IndexStats> index_stats(pool_->NumThreads());
  std::vector<Scratch> scratch(pool_->NumThreads());
  // Thresholds of every row first (rows sharing a sample scored together, sample_scores.h).
  std::vector<ThresholdEstimate> row_est;
  std::vector<uint64_t> row_bytes;
  if (!pre && c.policy) {
    std::vector<ConstMatrixView> kv_keys;
    for (size_t g = 0; g < hk; ++g) kv_keys.push_back(keys(g));
    row_est = EstimateThresholdHeads(*c.policy, q, kv_keys, scale_, causal, pool_.get(),
                                     &row_bytes);
  }

  // Rows run in turn when each index query uses its own pool; the engine's pool is then idle
  // during a row's gather, which splits its ids over it (parts of >= kGatherPart ids, summed in
  // part order, so the result depends on the thread count only).
  const bool rows_parallel = options_.index_threads == 1 && pool_->NumThreads() > 1;
  constexpr size_t kGatherPart = 1024;
  std::vector<float> gather_parts;

  auto run_row = [&](size_t task, size_t thread) {
    Scratch& sc = scratch[thread];
    IndexStats& ist = index_stats[thread];
    const size_t h = task / c.m, i = task % c.m;
    const Head& hd = heads_[h / c.group];
    const float* qr = c.q.Head(h).Row(i);
    float* o = c.out.Head(h).Row(i);
    HsrRowStats& rs = row_stats[task];
    const size_t visible = VisibleKeys(c.causal, i, c.m, c.n);
    rs.visible = static_cast<uint32_t>(visible);
    auto zero_row = [&] {
      std::fill(o, o + c.dv, 0.0f);
      rs.empty = true;
    };
    if (visible == 0) {
      zero_row();
      return;
    }
    // Threshold.
    float t;
    if (pre) {
      t = pre->b[task];
      rs.mu = pre->est[task].mu;
      rs.sigma = pre->est[task].sigma;
      sc.sample_scores.clear();
    } else if (!c.p->b_per_query.empty()) {
      t = c.p->b_per_query[task];
    } else if (c.policy) {
      const ThresholdEstimate& e = row_est[task];
      rs.bytes_read += row_bytes[task];
      sc.sample_scores.clear();
      t = e.b;
      rs.mu = e.mu;
      rs.sigma = e.sigma;
    } else {
      t = c.p->b;
    }
    // Report R(q, t) among the visible keys, with the ScoreRun score of each; softmax rows also
    // get the index's bound on the unreported keys' sum of e^(s_j - t) (have_tail).
    double tail = 0.0;
    bool have_tail = false;
    auto report = [&](float thr) {
      IndexStats one;
      if (pre && rs.queries == 0) {  // the first report was computed ahead (same thr)
        const size_t begin = pre->ids.offsets[task], end = pre->ids.offsets[task + 1];
        sc.ids.assign(pre->ids.ids.begin() + begin, pre->ids.ids.begin() + end);
        sc.scores.assign(pre->scores.begin() + begin, pre->scores.begin() + end);  // ScoreRun's
        one.queries = 1;
        one.candidates = pre->candidates[task];
        one.reported = end - begin;
        one.bytes_read = pre->bytes[task];
        have_tail = false;  // no per-key bounds on this path: the tau certificate applies
      } else {
        have_tail = hd.index->QueryPrefixTail(std::span<const float>(qr, c.d), thr, visible,
                                              &sc.ids, &one, c.relu ? nullptr : &tail,
                                              &sc.scores);
        if (sc.scores.size() != sc.ids.size()) {  // the index did not score its report
          sc.scores.resize(sc.ids.size());
          c.kern.score_ids(qr, hd.k, c.d, sc.ids.data(), sc.ids.size(), c.scale,
                           sc.scores.data());
          rs.bytes_read += sc.ids.size() * c.d * sizeof(float);  // rescored K rows
        }
      }
      ist.Merge(one);
      ++rs.queries;
      rs.candidates += one.candidates;
      rs.bytes_read += one.bytes_read;
    };
    auto accumulate = [&](const std::vector<uint32_t>& ids, double total) {
      sc.acc.assign(c.dv, 0.0f);
      const size_t parts =
          rows_parallel ? 1 : std::min(pool_->NumThreads(), ids.size() / kGatherPart);
      if (parts <= 1) {
        c.kern.gather_accumulate(hd.v, c.dv, ids.data(), sc.weights.data(), ids.size(),
                                 sc.acc.data());
      } else {
        gather_parts.assign(parts * c.dv, 0.0f);
        pool_->Run(parts, [&](size_t part, size_t /*thread*/) {
          const size_t b0 = ids.size() * part / parts, b1 = ids.size() * (part + 1) / parts;
          c.kern.gather_accumulate(hd.v, c.dv, ids.data() + b0, sc.weights.data() + b0, b1 - b0,
                                   gather_parts.data() + part * c.dv);
        });
        for (size_t part = 0; part < parts; ++part) {
          for (size_t col = 0; col < c.dv; ++col) sc.acc[col] += gather_parts[part * c.dv + col];
        }
      }
      rs.bytes_read += ids.size() * c.dv * sizeof(float);
      const double inv = 1.0 / total;
      for (size_t col = 0; col < c.dv; ++col) o[col] = static_cast<float>(sc.acc[col] * inv);
    };
    auto accumulate_softmax = [&](double M) {
      sc.weights.resize(sc.ids.size());
      double total = 0.0;
      for (size_t j = 0; j < sc.ids.size(); ++j) {
        sc.weights[j] = static_cast<float>(std::exp(static_cast<double>(sc.scores[j]) - M));
        total += static_cast<double>(sc.weights[j]);
      }
      accumulate(sc.ids, total);
    };
    // Dense row over the visible keys (never silent: counted as a fallback).
    auto dense_row = [&](float thr) {
      rs.fallback = true;
      rs.eps = 0.0;
      rs.eps_tau = 0.0;
      rs.eps_sketch = -1.0;
      rs.b = thr;
      rs.reported = static_cast<uint32_t>(visible);
      rs.bytes_read += visible * (c.d + c.dv) * sizeof(float);
      // dense-hwy's decode kernel over the visible prefix (split-K over the engine's pool when
      // rows run in turn; the row's own thread otherwise): the same output as a dense-hwy run.
      AttentionParams dp;
      dp.kind = AttentionKind::kSoftmax;
      dp.scale = c.scale;
      if (rows_parallel && !sc.solo) sc.solo = std::make_unique<ThreadPool>(1);
      DenseHwyAttentionValidated(ConstHeadsView(qr, 1, 1, c.d),
                                 ConstHeadsView(hd.k, 1, visible, c.d),
                                 ConstHeadsView(hd.v, 1, visible, c.dv), dp,
                                 HeadsView(o, 1, 1, c.dv), rows_parallel ? *sc.solo : *pool_,
                                 nullptr);
    };
    const bool err_policy = !c.relu && c.policy && c.policy->kind == ThresholdPolicy::Kind::kErr;
    if (err_policy) {
      // Keys in order of their per-key bound until eps_sketch <= E (softmax_cert.h).
      IndexStats one;
      const SketchSelection sel =
          SelectBySketch(c.kern, *hd.index, qr, hd.k, c.d, c.scale, visible, c.policy->value,
                         &sc.cert, &sc.ids, &sc.scores, &one,
                         rows_parallel ? nullptr : pool_.get());
      ist.Merge(one);
      rs.bytes_read += one.bytes_read;
      if (sel.status != SketchSelection::Status::kUnsupported) {
        rs.queries += 1;
        if (sel.status == SketchSelection::Status::kFallback) {
          dense_row(t);
          return;
        }
        rs.candidates += sc.ids.size();
        rs.bytes_read += sc.ids.size() * c.d * sizeof(float);
        rs.b = sel.tau;
        rs.eps = sel.eps_sketch;
        rs.eps_sketch = sel.eps_sketch;
        rs.eps_tau = sel.eps_tau;
        rs.reported = static_cast<uint32_t>(sc.ids.size());
        accumulate_softmax(sel.m);
        return;
      }
    }
    rs.b = t;
    report(t);
    const size_t count = sc.ids.size();
    rs.reported = static_cast<uint32_t>(count);
    if (c.relu) {
      // w_j = (s_j - t)^alpha relative to the largest weight (as dense): ((s_j - t)/(smax - t))^a.
      double smax = -std::numeric_limits<double>::infinity();
      for (float s : sc.scores) smax = std::max(smax, static_cast<double>(s));
      const double top = smax - static_cast<double>(t);
      if (count == 0 || !(top > 0.0)) {
        zero_row();
        return;
      }
      sc.weights.resize(count);
      double total = 0.0;
      for (size_t j = 0; j < count; ++j) {
        const double x = std::max(0.0, (static_cast<double>(sc.scores[j]) - t) / top);
        double w = x;
        for (int a = 1; a < c.p->alpha; ++a) w *= x;
        sc.weights[j] = static_cast<float>(w);
        total += static_cast<double>(sc.weights[j]);
      }
      if (!(total > 0.0)) {
        zero_row();
        return;
      }
      accumulate(sc.ids, total);
      return;
    }
    // Softmax over S = R(q, tau) with the certificate.
    const double target = err_policy ? c.policy->value : 1.0;
    double M = 0.0, Z = 0.0, eps = 1.0, eps_tau = 1.0, eps_sketch = -1.0;
    auto certify = [&](float tau) {
      M = -std::numeric_limits<double>::infinity();
      for (float s : sc.scores) M = std::max(M, static_cast<double>(s));
      Z = 0.0;
      for (float s : sc.scores) Z += std::exp(static_cast<double>(s) - M);
      const double r = static_cast<double>(visible - sc.ids.size());
      const double shift = std::exp(static_cast<double>(tau) - M);
      eps_tau = CertEps(r * shift, Z);
      // Each dropped key bounded by min(its bound, tau) (softmax_cert.h); the index caps the
      // tail at r, so eps_sketch <= eps_tau up to CertEps's rounding.
      eps_sketch = have_tail ? CertEps(tail * shift, Z) : -1.0;
      eps = have_tail ? eps_sketch : eps_tau;
    };
    bool ok = !sc.ids.empty();
    if (ok) certify(t);
    for (int step = 0; ok && err_policy && eps > target && step < 4; ++step) {
      // tau' = M + ln(E Z / r): eps(tau') <= r e^(tau'-M) / Z = E since Z grows, r shrinks.
      const double r = static_cast<double>(visible - sc.ids.size());
      const double want = M + std::log(target * Z / r);
      float tau = static_cast<float>(want);
      if (static_cast<double>(tau) > want) tau = std::nextafter(tau, -INFINITY);
      if (!(tau < t)) tau = std::nextafter(t, -INFINITY);
      // When the sample says tau' reports most keys, the dense row is cheaper (a fallback).
      if (step == 0 && c.policy->NeedsSample()) {  // the row's sample scores (same bits)
        ThresholdEstimate again;
        EstimateThresholdRows(*c.policy, c.q.Head(h), ConstMatrixView(hd.k, c.n, c.d), c.scale,
                              c.causal, i, i + 1, &sc.sample, &again, nullptr, &sc.sample_scores);
      }
      size_t above = 0;
      for (float s : sc.sample_scores) above += s > tau ? 1 : 0;
      if (!sc.sample_scores.empty() && 2 * above > sc.sample_scores.size()) {
        ok = false;
        break;
      }
      t = tau;
      report(t);
      certify(t);
    }
    if (ok && err_policy && eps > target) ok = false;
    if (!ok) {
      dense_row(t);
      return;
    }
    rs.b = t;
    rs.eps = eps;
    rs.eps_tau = eps_tau;
    rs.eps_sketch = eps_sketch;
    rs.reported = static_cast<uint32_t>(sc.ids.size());
    accumulate_softmax(M);
  };

  if (rows_parallel) {
    pool_->Run(rows, run_row);
  } else {
    for (size_t task = 0; task < rows; ++task) run_row(task, 0);
  }

  if (st) {
    st->rows = std::move(row_stats);
    st->attention = AttentionStats{};
    st->index = IndexStats{};
    for (const auto& s : index_stats) st->index.Merge(s);
    st->attention.queries = rows;
    for (const auto& r : st->rows) {
      st->attention.keys_scored += r.candidates + r.reported;
      st->attention.empty_rows += r.empty ? 1 : 0;
      st->attention.fallbacks += r.fallback ? 1 : 0;
    }
    st->reporter = pre ? std::string(kBatchReportName) : options_.index;
    st->threshold = CallThresholdName(c.policy, p);
    if (!pre && c.policy) {
      st->sample_seed = c.policy->seed;
      st->sample_size = c.policy->NeedsSample() ? std::min(c.policy->sample, n_) : 0;
    }
    st->build_us = build_us_;
  }
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
