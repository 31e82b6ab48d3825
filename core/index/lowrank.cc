// lowrank: Highway dispatch unit. See lowrank.h; reference: scan.cc; test: index_props.cc.
//
// Float evaluation of the bound (per key, u = 2^-24, gamma_k as in key_store.h):
//   v = fl(scale uq) (|v - scale uq| <= u |scale uq|), acc = sequential MulAdd chain over r
//   terms (<= 2 r roundings): |acc - <v, p>| <= gamma_{2r+2} ||v|| ||p||. uq is U q in double
//   (error << 2^-30 ||q|| ||p||). Guards (else the query is not trusted): ||uq|| <= 1.02 ||q||,
//   so ||v|| <= 1.03 scale ||q|| <= Qn. Then
//     ScoreRun <= scale <q, k> + ScoreRelErr Qn ||k|| + ScoreAbsErr
//              <= acc + Qp rn + Qn (||p|| (gamma_{2r+2} + u + 1e-9) + eps + ScoreRelErr ||k||)
//   and ub = fl(fl(acc + fl(Qp rn)) + fl(Qn w)) loses <= gamma_3 of (|acc| + Qp rn + Qn w),
//   |acc| <= 1.01 Qn ||p||: covered by inflating rn and w by (1 + 4 gamma_4) and adding
//   2 gamma_2 1.01 ||p|| to w. Candidate iff !(ub <= b_eff), b_eff <= b - tiny (as sketch8).
#include "core/index/lowrank.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"
#include "core/base/thread_pool.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/index/lowrank.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/index/recheck-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kLowRankTask = 16384;  // keys per task (multiple of kBlock)

// ub[0..kBlock) for block blk.
HWY_INLINE void BlockBounds(const LowRankIndex::Layout& L, const LowRankIndex::QueryCode& qc,
                            size_t blk, float* HWY_RESTRICT ub) {
  constexpr size_t B = LowRankIndex::kBlock;
  const hn::CappedTag<float, B> df;
  const size_t N = hn::Lanes(df);
  const float* P = L.proj + blk * L.r * B;
  const auto Qp = hn::Set(df, qc.Qp), Qn = hn::Set(df, qc.Qn);
  for (size_t s = 0; s < B; s += N) {
    auto acc = hn::Zero(df);
    for (size_t i = 0; i < L.r; ++i) {
      acc = hn::MulAdd(hn::Set(df, qc.v[i]), hn::LoadU(df, P + i * B + s), acc);
    }
    const auto z1 = hn::Mul(Qp, hn::LoadU(df, L.rn + blk * B + s));
    const auto z2 = hn::Mul(Qn, hn::LoadU(df, L.w + blk * B + s));
    hn::StoreU(hn::Add(hn::Add(acc, z1), z2), df, ub + s);
  }
}

uint64_t FilterRange(const LowRankIndex::Layout& L, const LowRankIndex::QueryCode& qc,
                     const float* q, float b, float b_eff, size_t begin, size_t end,
                     std::vector<uint32_t>* out) {
  constexpr size_t B = LowRankIndex::kBlock;
  if (!qc.trusted) {
    ReportRun(q, L.keys + begin * L.d, L.d, end - begin, L.scale, b,
              static_cast<uint32_t>(begin), out);
    return end - begin;
  }
  HWY_ALIGN float ub[B];
  uint32_t cand[B];
  uint64_t total = 0;
  for (size_t j0 = begin; j0 < end; j0 += B) {
    BlockBounds(L, qc, j0 / B, ub);
    const size_t count = std::min(B, end - j0);
    size_t nc = 0;
    for (size_t i = 0; i < count; ++i) {
      cand[nc] = static_cast<uint32_t>(j0 + i);
      nc += !(ub[i] <= b_eff);
    }
    total += nc;
    RecheckIds(q, L.keys, L.d, L.scale, b, cand, nc, out);
  }
  return total;
}

void LowRankQueryT(const LowRankIndex::Layout& L, const LowRankIndex::QueryCode& qc,
                   const float* q, float b, float b_eff, ThreadPool* pool,
                   std::vector<uint32_t>* ids, uint64_t* candidates) {
  const size_t tasks = (L.n + kLowRankTask - 1) / kLowRankTask;
  if (pool->NumThreads() == 1 || tasks < 2) {
    *candidates = FilterRange(L, qc, q, b, b_eff, 0, L.n, ids);
    return;
  }
  std::vector<std::vector<uint32_t>> parts(tasks);
  std::vector<uint64_t> cands(tasks);
  pool->Run(tasks, [&](size_t task, size_t /*thread*/) {
    const size_t begin = task * kLowRankTask;
    cands[task] = FilterRange(L, qc, q, b, b_eff, begin, std::min(L.n, begin + kLowRankTask),
                              &parts[task]);
  });
  *candidates = 0;
  for (size_t t = 0; t < tasks; ++t) {
    ids->insert(ids->end(), parts[t].begin(), parts[t].end());
    *candidates += cands[t];
  }
}

void LowRankBoundsT(const LowRankIndex::Layout& L, const LowRankIndex::QueryCode& qc,
                    float* ub) {
  constexpr size_t B = LowRankIndex::kBlock;
  HWY_ALIGN float buf[B];
  for (size_t j0 = 0; j0 < L.n; j0 += B) {
    BlockBounds(L, qc, j0 / B, buf);
    for (size_t i = 0; i < B && j0 + i < L.n; ++i) ub[j0 + i] = buf[i];
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(LowRankQueryT);
HWY_EXPORT(LowRankBoundsT);

using index_detail::Gamma;
using index_detail::kU;
using index_detail::Norm;
using index_detail::NormUp;
using index_detail::RoundUp;
using index_detail::ScoreRelErr;

namespace {

float RoundDown(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

// Cyclic Jacobi on the symmetric d x d matrix A (destroyed): eigenvalues (descending) and the
// matching eigenvectors as rows of vecs (d x d). Quality only matters for tightness: the
// bound is exact for any directions.
void SymmetricEigen(std::vector<double> A, size_t d, std::vector<double>* evals,
                    std::vector<double>* vecs) {
  std::vector<double> V(d * d, 0.0);
  for (size_t i = 0; i < d; ++i) V[i * d + i] = 1.0;
  double total = 0.0;
  for (double x : A) total += x * x;
  const int max_sweeps = d > 64 ? 6 : 12;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    double off = 0.0;
    for (size_t p = 0; p < d; ++p)
      for (size_t q = p + 1; q < d; ++q) off += A[p * d + q] * A[p * d + q];
    if (!(off > 1e-24 * total)) break;
    for (size_t p = 0; p < d; ++p) {
      for (size_t q = p + 1; q < d; ++q) {
        const double apq = A[p * d + q];
        if (std::fabs(apq) < 1e-300) continue;
        const double theta = (A[q * d + q] - A[p * d + p]) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (size_t k = 0; k < d; ++k) {
          const double akp = A[k * d + p], akq = A[k * d + q];
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < d; ++k) {
          const double apk = A[p * d + k], aqk = A[q * d + k];
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        for (size_t k = 0; k < d; ++k) {
          const double vkp = V[k * d + p], vkq = V[k * d + q];
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<size_t> order(d);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return A[a * d + a] > A[b * d + b]; });
  evals->resize(d);
  vecs->resize(d * d);
  for (size_t i = 0; i < d; ++i) {
    (*evals)[i] = A[order[i] * d + order[i]];
    for (size_t k = 0; k < d; ++k) (*vecs)[i * d + k] = V[k * d + order[i]];
  }
}

}  // namespace

LowRankIndex::LowRankIndex(size_t threads, size_t rank, double energy)
    : want_rank_(rank), energy_(energy), pool_(std::make_unique<ThreadPool>(threads)) {}
LowRankIndex::~LowRankIndex() = default;

size_t LowRankIndex::MemoryBytes() const {
  return keys_.Bytes() + (u_.capacity() + proj_.capacity() + rn_.capacity() + w_.capacity()) *
                             sizeof(float);
}

std::string LowRankIndex::Describe() const {
  return fmt::format("rank={} energy={:.4f}", r_, energy_share_);
}

// Projects one key with the fixed U and appends its bound data (proof at the top of the file).
void LowRankIndex::AppendRow(const float* key) {
  const size_t d = keys_.d(), r = r_, B = kBlock;
  const size_t j = rows_++;
  if (j % B == 0) {  // a new block; rn_ and w_ stay padded to whole blocks (zeros)
    proj_.resize(proj_.size() + r * B, 0.0f);
    rn_.resize(rn_.size() + B, 0.0f);
    w_.resize(w_.size() + B, 0.0f);
  }
  float* P = proj_.data() + (j / B) * r * B + j % B;
  std::vector<double> kperp(key, key + d);
  double pn2 = 0.0;
  for (size_t i = 0; i < r; ++i) {
    const float* u = u_.data() + i * d;
    double s = 0.0;
    for (size_t c = 0; c < d; ++c) s += double{u[c]} * key[c];
    const float p = static_cast<float>(s);
    P[i * B] = p;
    pn2 += double{p} * p;
    for (size_t c = 0; c < d; ++c) kperp[c] -= double{p} * u[c];
  }
  double eps2 = 0.0;
  for (size_t i = 0; i < r; ++i) {
    const float* u = u_.data() + i * d;
    double s = 0.0;
    for (size_t c = 0; c < d; ++c) s += double{u[c]} * kperp[c];
    eps2 += s * s;
  }
  double rn2 = 0.0;
  for (double x : kperp) rn2 += x * x;
  const double kn = NormUp(key, d), pn = std::sqrt(pn2) * (1.0 + 0x1p-30);
  const double abs_slack = 0x1p-36 * (kn + pn);
  const double g4 = Gamma(4.0);
  const double rn = (std::sqrt(rn2) * (1.0 + 0x1p-30) + abs_slack) * (1.0 + 4.0 * g4);
  const double eps = std::sqrt(eps2) * (1.0 + 0x1p-30) + abs_slack;
  const double w = (pn * (Gamma(2.0 * r + 2.0) + kU + 1e-9) + eps + ScoreRelErr(d) * kn +
                    2.0 * Gamma(2.0) * 1.01 * pn) *
                   (1.0 + 4.0 * g4) * (1.0 + 0x1p-30);
  rn_[j] = RoundUp(rn);
  w_[j] = RoundUp(w);
}

void LowRankIndex::Build(ConstMatrixView keys, float scale) {
  index_detail::KeyStore store;
  store.Assign("lowrank Build", keys, scale);
  const size_t n = store.n(), d = store.d();
  // Second moment of a strided sample of <= 4096 keys.
  const size_t samples = std::min<size_t>(n, 4096);
  std::vector<double> M(d * d, 0.0);
  for (size_t s = 0; s < samples; ++s) {
    const float* k = store.Row(s * n / samples);
    for (size_t a = 0; a < d; ++a) {
      const double ka = k[a];
      for (size_t b = a; b < d; ++b) M[a * d + b] += ka * k[b];
    }
  }
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b < a; ++b) M[a * d + b] = M[b * d + a];
  double trace = 0.0;
  for (size_t a = 0; a < d; ++a) trace += M[a * d + a];
  std::vector<double> evals, vecs;
  size_t r = 0;
  double share = 0.0;
  if (samples > 0 && trace > 0.0 && std::isfinite(trace)) {
    SymmetricEigen(M, d, &evals, &vecs);
    const size_t cap = want_rank_ ? std::min(want_rank_, d) : std::max<size_t>(1, d / 4);
    double acc = 0.0;
    for (r = 0; r < cap;) {
      acc += std::max(0.0, evals[r]);
      ++r;
      if (!want_rank_ && acc >= energy_ * trace) break;
    }
    share = std::min(1.0, acc / trace);
  }
  keys_ = std::move(store);
  r_ = r;
  energy_share_ = share;
  u_.assign(r * d, 0.0f);
  for (size_t i = 0; i < r * d; ++i) u_[i] = static_cast<float>(vecs[i]);
  proj_.clear();
  rn_.clear();
  w_.clear();
  rows_ = 0;
  for (size_t j = 0; j < n; ++j) AppendRow(keys_.Row(j));
}

uint32_t LowRankIndex::Insert(std::span<const float> key) {
  const uint32_t id = keys_.Append("lowrank Insert", key);
  AppendRow(keys_.Row(id));
  return id;
}

LowRankIndex::QueryCode LowRankIndex::Encode(std::span<const float> q) const {
  const size_t d = keys_.d(), r = r_;
  const double scale = keys_.scale();
  QueryCode qc;
  qc.v.resize(r);
  const double qn = NormUp(q.data(), d);
  std::vector<double> qperp(q.begin(), q.end());
  double uqn2 = 0.0;
  for (size_t i = 0; i < r; ++i) {
    const float* u = u_.data() + i * d;
    double s = 0.0;
    for (size_t c = 0; c < d; ++c) s += double{u[c]} * q[c];
    uqn2 += s * s;
    qc.v[i] = static_cast<float>(scale * s);
    for (size_t c = 0; c < d; ++c) qperp[c] -= s * u[c];
  }
  double qp2 = 0.0;
  for (double x : qperp) qp2 += x * x;
  const double uqn = std::sqrt(uqn2);
  const double qp = std::sqrt(qp2) * (1.0 + 0x1p-30) + 0x1p-36 * (qn + uqn);
  qc.trusted = keys_.BoundsTrusted(qn) && uqn <= 1.02 * qn;
  qc.Qn = RoundUp(scale * qn * 1.03);
  qc.Qp = RoundUp(scale * qp);
  if (!std::isfinite(qc.Qn) || !std::isfinite(qc.Qp)) qc.trusted = false;
  qc.tiny = keys_.BoundTiny();
  return qc;
}

LowRankIndex::Layout LowRankIndex::GetLayout() const {
  Layout L;
  static_cast<index_detail::KeyRows&>(L) = keys_.Rows();
  L.r = r_;
  L.proj = proj_.data();
  L.rn = rn_.data();
  L.w = w_.data();
  return L;
}

void LowRankIndex::Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
                         IndexStats* st) const {
  keys_.ValidateQuery("lowrank Query", q, b);
  ids->clear();
  const QueryCode qc = Encode(q);
  const float b_eff = RoundDown(double{b} - qc.tiny);
  uint64_t candidates = 0;
  HWY_DYNAMIC_DISPATCH(LowRankQueryT)(GetLayout(), qc, q.data(), b, b_eff, pool_.get(), ids,
                                      &candidates);
  if (st) {
    const uint64_t n = keys_.n();
    st->queries += 1;
    st->keys_bounded += qc.trusted ? n : 0;
    st->candidates += candidates;
    st->reported += ids->size();
    st->bytes_read += (qc.trusted ? n * (r_ + 2) * sizeof(float) : 0) +
                      candidates * keys_.d() * sizeof(float);
  }
}

std::vector<double> LowRankIndex::UpperBounds(std::span<const float> q) const {
  keys_.ValidateQuery("lowrank UpperBounds", q, 0.0f);
  const QueryCode qc = Encode(q);
  return index_detail::UpperBoundsOf(keys_.n(), qc.trusted, qc.tiny, [&](float* ub) {
    HWY_DYNAMIC_DISPATCH(LowRankBoundsT)(GetLayout(), qc, ub);
  });
}

}  // namespace hsr
#endif  // HWY_ONCE
