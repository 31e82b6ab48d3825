#include "gpu/hsr/hsr_cuda_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/attention/validate.h"
#include "core/base/error.h"
#include "gpu/attention/cuda_session.h"
#include "gpu/attention/dense_decode.h"
#include "gpu/hsr/hsr_decode.h"
#include "gpu/hsr/sketch_decode.h"
#include "gpu/hsr/sketch_kv.h"

namespace hsr::gpu {

std::string HsrCudaBackend::NameFor(KvDtype dtype, HsrFilter filter) {
  std::string name = filter == HsrFilter::kSketch ? "hsr-cuda-sketch" : "hsr-cuda";
  if (dtype != KvDtype::kF32) {
    name.push_back('-');
    name.append(ToString(dtype));
  }
  return name;
}

HsrCudaBackend::HsrCudaBackend(KvDtype dtype, HsrFilter filter)
    : dtype_(dtype),
      filter_(filter),
      name_(NameFor(dtype, filter)),
      session_(std::make_unique<CudaSession>(name_)) {}

HsrCudaBackend::~HsrCudaBackend() = default;

const std::string& HsrCudaBackend::device_name() const { return session_->device_name(); }
size_t HsrCudaBackend::sm_count() const { return session_->sm_count(); }

bool HsrCudaBackend::Supports(const AttentionShape& shape) const {
  return shape.kind == AttentionKind::kRelu && (!shape.causal || shape.m <= 1) &&
         DecodeShapeSupported(shape.d, shape.dv);
}

double HsrCudaBackend::Prepare(const KvCache& kv, float scale) {
  if (scale == 0.0f) scale = AttentionParams{}.ScaleFor(kv.d());
  const auto t0 = std::chrono::steady_clock::now();
  bool built = false;
  if (!session_->Cached(kv, dtype_)) {
    const DecodePlan shape = PlanDecode(name_.c_str(), 1, 1, 1, 0, kv.d(), kv.dv(), 1, 1);
    session_->Kv(name_, kv, dtype_, shape.dk_pad, shape.dv_pad);
    built = true;
  }
  if (filter_ == HsrFilter::kSketch && kv.n() > 0) {
    const size_t before = sketches_.size();
    Sketch(name_, kv, scale);
    built |= sketches_.size() != before;
  }
  if (!built) return 0.0;
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

void HsrCudaBackend::ReleaseCache() {
  session_->ReleaseCache();
  sketches_.clear();
}

const SketchKv& HsrCudaBackend::Sketch(const std::string& where, const KvCache& kv, float scale) {
  for (const auto& s : sketches_) {
    if (s->Matches(kv, dtype_, scale)) return *s;
  }
  sketches_.push_back(std::make_unique<SketchKv>(where, kv, dtype_, scale));
  return *sketches_.back();
}

void HsrCudaBackend::SketchFilter(const std::string& where, ConstHeadsView q, const KvCache& kv,
                                  const AttentionParams& p, const DecodePlan& plan,
                                  float scale) {
  const size_t rows = q.heads * q.rows, n = kv.n();
  const DeviceKv& dkv = session_->Kv(where, kv, dtype_, plan.dk_pad, plan.dv_pad);
  SketchFilterArgs f;
  f.dtype = dtype_;
  f.k = dkv.k();
  f.n = n;
  f.q = session_->q();
  f.b = session_->b();
  f.scale = scale;
  f.counts = counts_.as<unsigned>();
  f.ids = ids_.as<uint32_t>();
  f.scores = scores_.as<float>();
  f.capacity = capacity_;
  cand_counts_.Reserve(std::max<size_t>(1, rows * sizeof(unsigned)));
  f.cand_counts = cand_counts_.as<unsigned>();
  if (n > 0 && rows > 0) {
    const SketchKv& sk = Sketch(where, kv, scale);
    const SketchQueries sq = QuantiseRows(sk.indexes(), q, p);
    sketch_q_.Reserve(2 * sq.qhi.size());
    sketch_q_.Upload(sq.qhi.data(), sq.qhi.size());
    sketch_q_.Upload(sq.qlo.data(), sq.qlo.size(), sq.qhi.size());
    sketch_params_.Reserve(sq.params.size() * sizeof(float));
    sketch_params_.Upload(sq.params.data(), sq.params.size() * sizeof(float));
    const size_t cand_capacity = plan.splits * plan.keys_per_split;
    cand_.Reserve(std::max<size_t>(1, rows * cand_capacity * sizeof(uint32_t)));
    f.codes = sk.codes();
    f.a = sk.a();
    f.w = sk.w();
    f.d_pad = sk.d_pad();
    f.qhi = sketch_q_.as<uint8_t>();
    f.qlo = sketch_q_.as<uint8_t>() + sq.qhi.size();
    f.params = sketch_params_.as<float>();
    f.cand = cand_.as<uint32_t>();
    f.cand_capacity = cand_capacity;
  }
  LaunchSketchFilter(plan, f);
}

void HsrCudaBackend::Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                             HeadsView out, AttentionStats* stats) {
  // Prefill and Decode compute the same output (backend.h); Decode checks the mask.
  Decode(q, kv, p, out, stats);
}

void HsrCudaBackend::Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& params,
                            HeadsView out, AttentionStats* stats) {
  const std::string where = name_ + " Decode";
  // The causal mask with m = 1 hides nothing (the one row sees all n keys).
  HSR_CHECK(!params.causal || q.rows <= 1,
            "{}: expected causal off or m = 1 (the causal mask over several query rows is not "
            "on the GPU yet; use hsr-cpu or dense-cuda), got causal with m = {}", where, q.rows);
  AttentionParams p = params;
  p.causal = false;
  ValidateAttention(where, q, kv, p, out);
  HSR_CHECK(p.kind == AttentionKind::kRelu,
            "{}: expected attention relu (softmax-HSR is not on the GPU yet), got {}", where,
            ToString(p.kind));
  const size_t hq = q.heads, m = q.rows, n = kv.n(), rows = hq * m;
  // Occupancy of the filter is not queried: its blocks hold no state, 8 per SM is a floor.
  const DecodePlan plan = PlanDecode(where.c_str(), hq, kv.heads(), m, n, kv.d(), kv.dv(),
                                     session_->sm_count(), 8);
  last_plan_ = plan;
  const DeviceKv& dkv = session_->Kv(where, kv, dtype_, plan.dk_pad, plan.dv_pad);
  session_->UploadQueries(q, p, plan.dk_pad);
  capacity_ = std::max<size_t>(1, n);
  counts_.Reserve(std::max<size_t>(1, rows * sizeof(unsigned)));
  ids_.Reserve(std::max<size_t>(1, rows * capacity_ * sizeof(uint32_t)));
  scores_.Reserve(std::max<size_t>(1, rows * capacity_ * sizeof(float)));

  HsrFilterArgs f;
  f.dtype = dtype_;
  f.k = dkv.k();
  f.n = n;
  f.m = m;
  f.q = session_->q();
  f.b = session_->b();
  f.scale = p.ScaleFor(kv.d());
  f.counts = counts_.as<unsigned>();
  f.ids = ids_.as<uint32_t>();
  f.scores = scores_.as<float>();
  f.capacity = capacity_;
  if (filter_ == HsrFilter::kSketch) {
    SketchFilter(where, q, kv, p, plan, f.scale);
  } else {
    LaunchHsrFilter(plan, f);
  }
  last_reported_.assign(rows, 0);
  counts_.Download(last_reported_.data(), rows * sizeof(uint32_t));  // synchronizes
  last_candidates_.assign(rows, static_cast<uint32_t>(n));
  if (filter_ == HsrFilter::kSketch && rows > 0) {
    cand_counts_.Download(last_candidates_.data(), rows * sizeof(uint32_t));
  }
  const size_t max_count =
      rows == 0 ? 0 : *std::max_element(last_reported_.begin(), last_reported_.end());
  HSR_CHECK(max_count <= capacity_, "{}: expected at most {} reported keys per row, got {}",
            where, capacity_, max_count);

  const size_t splits = PlanCandidateSplits(rows, max_count, session_->sm_count(), 8);
  last_candidate_splits_ = splits;
  part_acc_.Reserve(std::max<size_t>(1, rows * splits * plan.dv_pad * sizeof(float)));
  part_ml_.Reserve(std::max<size_t>(1, rows * splits * 2 * sizeof(float)));
  out_.Reserve(std::max<size_t>(1, rows * plan.dv_pad * sizeof(float)));
  empty_.Reserve(std::max<size_t>(1, rows * sizeof(int)));
  HsrAccumulateArgs acc;
  acc.dtype = dtype_;
  acc.v = dkv.v();
  acc.n = n;
  acc.rows = rows;
  acc.rows_per_kv = plan.rows_per_kv;
  acc.dv_pad = plan.dv_pad;
  acc.values_per_lane = plan.values_per_lane;
  acc.counts = counts_.as<unsigned>();
  acc.ids = ids_.as<uint32_t>();
  acc.scores = scores_.as<float>();
  acc.capacity = capacity_;
  acc.b = session_->b();
  acc.alpha = p.alpha;
  acc.splits = splits;
  acc.part_acc = part_acc_.as<float>();
  acc.part_ml = part_ml_.as<float>();
  LaunchHsrAccumulate(acc);
  SplitMergeArgs merge;
  merge.rows = rows;
  merge.splits = splits;
  merge.dv_pad = plan.dv_pad;
  merge.relu = true;
  merge.alpha = p.alpha;
  merge.part_acc = part_acc_.as<float>();
  merge.part_ml = part_ml_.as<float>();
  merge.out = out_.as<float>();
  merge.empty = empty_.as<int>();
  LaunchSplitMerge(merge);

  std::vector<float> oh(rows * plan.dv_pad);
  std::vector<int> eh(rows);
  out_.Download(oh.data(), oh.size() * sizeof(float));
  empty_.Download(eh.data(), eh.size() * sizeof(int));
  uint64_t empty_rows = 0;
  for (size_t h = 0; h < hq; ++h) {
    for (size_t i = 0; i < m; ++i) {
      std::memcpy(out.Head(h).Row(i), &oh[(h * m + i) * plan.dv_pad], out.cols * sizeof(float));
      empty_rows += static_cast<uint64_t>(eh[h * m + i] != 0);
    }
  }
  if (stats != nullptr) {
    stats->queries += rows;
    // Exact float scores computed: every key for the scan, the candidates for the sketch.
    for (uint32_t c : last_candidates_) stats->keys_scored += c;
    stats->empty_rows += empty_rows;
  }
}

std::vector<std::pair<uint32_t, float>> HsrCudaBackend::LastReport(size_t row) const {
  HSR_CHECK(row < last_reported_.size(), "{}: expected a row < {}, got {}", name_,
            last_reported_.size(), row);
  const size_t count = last_reported_[row];
  std::vector<uint32_t> ids(count);
  std::vector<float> scores(count);
  ids_.Download(ids.data(), count * sizeof(uint32_t), row * capacity_ * sizeof(uint32_t));
  scores_.Download(scores.data(), count * sizeof(float), row * capacity_ * sizeof(float));
  std::vector<std::pair<uint32_t, float>> out(count);
  for (size_t t = 0; t < count; ++t) out[t] = {ids[t], scores[t]};
  return out;
}

}  // namespace hsr::gpu
