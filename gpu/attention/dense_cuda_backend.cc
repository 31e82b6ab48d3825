#include "gpu/attention/dense_cuda_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/attention/validate.h"
#include "core/base/error.h"
#include "gpu/attention/cuda_session.h"
#include "gpu/attention/dense_decode.h"

namespace hsr::gpu {

std::string DenseCudaBackend::NameFor(KvDtype dtype) {
  return dtype == KvDtype::kF32 ? std::string("dense-cuda")
                                : "dense-cuda-" + std::string(ToString(dtype));
}

DenseCudaBackend::DenseCudaBackend(KvDtype dtype)
    : dtype_(dtype), name_(NameFor(dtype)), session_(std::make_unique<CudaSession>(name_)) {}

DenseCudaBackend::~DenseCudaBackend() = default;

const std::string& DenseCudaBackend::device_name() const { return session_->device_name(); }
size_t DenseCudaBackend::sm_count() const { return session_->sm_count(); }

bool DenseCudaBackend::Supports(const AttentionShape& shape) const {
  return DecodeShapeSupported(shape.d, shape.dv);
}

double DenseCudaBackend::Prepare(const KvCache& kv) {
  if (session_->Cached(kv, dtype_)) return 0.0;
  const DecodePlan shape = PlanDecode(name_.c_str(), 1, 1, 1, 0, kv.d(), kv.dv(), 1, 1);
  const auto t0 = std::chrono::steady_clock::now();
  session_->Kv(name_, kv, dtype_, shape.dk_pad, shape.dv_pad);
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

void DenseCudaBackend::ReleaseCache() { session_->ReleaseCache(); }

void DenseCudaBackend::Decode(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                              HeadsView out, AttentionStats* stats) {
  Run("Decode", q, kv, p, out, stats);
}

void DenseCudaBackend::Prefill(ConstHeadsView q, const KvCache& kv, const AttentionParams& p,
                               HeadsView out, AttentionStats* stats) {
  Run("Prefill", q, kv, p, out, stats);
}

void DenseCudaBackend::Run(const char* what, ConstHeadsView q, const KvCache& kv,
                           const AttentionParams& p, HeadsView out, AttentionStats* stats) {
  const std::string where = name_ + " " + what;
  ValidateAttention(where, q, kv, p, out);
  const size_t hq = q.heads, m = q.rows, n = kv.n(), rows = hq * m;
  const DecodePlan shape = PlanDecode(where.c_str(), hq, kv.heads(), m, n, kv.d(), kv.dv(), 1, 1);
  auto occ = occupancy_.find({shape.values_per_lane, shape.dk_pad});
  if (occ == occupancy_.end()) {
    occ = occupancy_.emplace(std::make_tuple(shape.values_per_lane, shape.dk_pad),
                             DenseDecodeBlocksPerSm(dtype_, shape.values_per_lane, shape.dk_pad))
              .first;
  }
  const DecodePlan plan = PlanDecode(where.c_str(), hq, kv.heads(), m, n, kv.d(), kv.dv(),
                                     session_->sm_count(), occ->second);
  last_plan_ = plan;
  const DeviceKv& dkv = session_->Kv(where, kv, dtype_, plan.dk_pad, plan.dv_pad);
  session_->UploadQueries(q, p, plan.dk_pad);
  part_acc_.Reserve(std::max<size_t>(1, rows * plan.splits * plan.dv_pad * sizeof(float)));
  part_ml_.Reserve(std::max<size_t>(1, rows * plan.splits * 2 * sizeof(float)));
  out_.Reserve(std::max<size_t>(1, rows * plan.dv_pad * sizeof(float)));
  empty_.Reserve(std::max<size_t>(1, rows * sizeof(int)));

  DenseDecodeArgs a;
  a.dtype = dtype_;
  a.k = dkv.k();
  a.v = dkv.v();
  a.n = n;
  a.m = m;
  a.q = session_->q();
  a.b = session_->b();
  a.relu = p.kind == AttentionKind::kRelu;
  a.causal = p.causal;
  a.alpha = p.alpha;
  a.scale = p.ScaleFor(kv.d());
  a.part_acc = part_acc_.as<float>();
  a.part_ml = part_ml_.as<float>();
  a.out = out_.as<float>();
  a.empty = empty_.as<int>();
  LaunchDenseDecode(plan, a);

  std::vector<float> oh(rows * plan.dv_pad);
  std::vector<int> eh(rows);
  out_.Download(oh.data(), oh.size() * sizeof(float));  // synchronizes
  empty_.Download(eh.data(), eh.size() * sizeof(int));
  uint64_t empty_rows = 0, scored = 0;
  for (size_t h = 0; h < hq; ++h) {
    for (size_t i = 0; i < m; ++i) {
      std::memcpy(out.Head(h).Row(i), &oh[(h * m + i) * plan.dv_pad], out.cols * sizeof(float));
      empty_rows += static_cast<uint64_t>(eh[h * m + i] != 0);
      scored += VisibleKeys(p.causal, i, m, n);
    }
  }
  if (stats != nullptr) {
    stats->queries += rows;
    stats->keys_scored += scored;
    stats->empty_rows += empty_rows;
  }
}

}  // namespace hsr::gpu
