#include "gpu/hsr/sketch_kv.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "core/base/error.h"
#include "core/base/thread_pool.h"
#include "gpu/attention/decode_plan.h"
#include "gpu/hsr/sketch_code.h"

namespace hsr::gpu {

std::vector<std::unique_ptr<Sketch8Index>> BuildSketchIndexes(std::string_view where,
                                                              const KvCache& kv, KvDtype t,
                                                              float scale, size_t threads) {
  const size_t heads = kv.heads(), n = kv.n(), d = kv.d();
  // The recheck's rounding must fit sketch8's error model (sketch_kv.h): h_gpu <= d + 32.
  const size_t dk_pad = (d + 3) / 4 * 4;  // decode_plan.h: d rounded up to a multiple of 4
  HSR_CHECK(static_cast<size_t>(sketch::GpuScoreRoundings(static_cast<int>(dk_pad))) <= d + 32,
            "{}: expected GPU score roundings <= d + 32 = {}, got {}", where, d + 32,
            sketch::GpuScoreRoundings(static_cast<int>(dk_pad)));
  std::vector<std::unique_ptr<Sketch8Index>> out(heads);
  const size_t want = threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads;
  ThreadPool pool(std::clamp<size_t>(want, 1, std::max<size_t>(1, heads)));
  pool.Run(heads, [&](size_t g, size_t /*thread*/) {
    std::vector<float> rounded(n * d);
    const ConstMatrixView head = kv.k().Head(g);
    for (size_t j = 0; j < n; ++j) {
      for (size_t c = 0; c < d; ++c) rounded[j * d + c] = RoundTrip(t, head(j, c));
    }
    auto index = std::make_unique<Sketch8Index>(1);
    index->Build(ConstMatrixView(rounded.data(), n, d), scale);
    out[g] = std::move(index);
  });
  return out;
}

SketchArrays PackSketch(const std::vector<std::unique_ptr<Sketch8Index>>& heads) {
  SketchArrays s;
  s.heads = heads.size();
  if (heads.empty()) return s;
  const Sketch8Index::Layout first = heads[0]->SketchLayout();
  s.n = first.n;
  s.d = first.d;
  s.d_pad = sketch::CodeRowPad(first.d);
  s.codes.resize(s.heads * s.n * s.d_pad);
  s.a.resize(s.heads * s.n);
  s.w.resize(s.heads * s.n);
  for (size_t g = 0; g < s.heads; ++g) {
    const Sketch8Index::Layout L = heads[g]->SketchLayout();
    HSR_CHECK(L.n == s.n && L.d == s.d, "PackSketch: expected n={} d={}, got {} {}", s.n, s.d,
              L.n, L.d);
    if (s.n == 0) continue;
    heads[g]->CopyCodeRows(s.d_pad, s.codes.data() + g * s.n * s.d_pad);
    std::memcpy(s.a.data() + g * s.n, L.a, s.n * sizeof(float));
    std::memcpy(s.w.data() + g * s.n, L.w, s.n * sizeof(float));
  }
  return s;
}

float RoundDownToFloat(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

SketchQueries QuantiseRows(const std::vector<std::unique_ptr<Sketch8Index>>& heads,
                           ConstHeadsView q, const AttentionParams& p) {
  HSR_CHECK(!heads.empty() && q.heads % heads.size() == 0,
            "sketch QuantiseRows: expected q heads a multiple of {} kv heads, got {}",
            heads.size(), q.heads);
  SketchQueries out;
  const size_t m = q.rows, group = q.heads / heads.size();
  out.rows = q.heads * m;
  out.d_pad = sketch::CodeRowPad(heads[0]->SketchLayout().d);
  out.qhi.assign(out.rows * out.d_pad, 0);
  out.qlo.assign(out.rows * out.d_pad, 0);
  out.params.assign(4 * out.rows, 0.0f);
  for (size_t h = 0; h < q.heads; ++h) {
    const Sketch8Index& index = *heads[h / group];
    for (size_t i = 0; i < m; ++i) {
      const size_t r = h * m + i;
      const Sketch8Index::QueryCode qc = index.QuantiseQuery({q.Head(h).Row(i), q.cols});
      const std::vector<int16_t>& q16 = qc.words.q;  // 4 ceil(d / 4) <= d_pad entries
      for (size_t c = 0; c < q16.size(); ++c) {
        int8_t hi = 0;
        uint8_t lo = 0;
        sketch::SplitQ16(q16[c], &hi, &lo);
        out.qhi[r * out.d_pad + c] = static_cast<uint8_t>(hi);
        out.qlo[r * out.d_pad + c] = lo;
      }
      // D (0 <= D <= 64 d + 1, sketch8.cc) travels as an exact float.
      HSR_CHECK(qc.words.extra >= 0 && qc.words.extra < (1 << 24),
                "sketch QuantiseRows: expected an offset D < 2^24, got {}", qc.words.extra);
      out.params[3 * out.rows + r] = static_cast<float>(qc.words.extra);
      const float b = p.ThresholdFor(h, m, i);
      out.params[r] = qc.T;
      out.params[out.rows + r] = qc.Qn;
      out.params[2 * out.rows + r] = qc.trusted ? RoundDownToFloat(double{b} - qc.tiny)
                                                : -std::numeric_limits<float>::infinity();
      out.untrusted_rows += qc.trusted ? 0 : 1;
    }
  }
  return out;
}

std::vector<uint32_t> HostSketchCandidates(const SketchArrays& s, const SketchQueries& q,
                                           size_t g, size_t r, std::vector<int32_t>* dots,
                                           std::vector<float>* bounds) {
  const size_t words = s.d_pad / 4;
  std::vector<uint32_t> qhi(words), qlo(words), code(words), out;
  std::memcpy(qhi.data(), q.qhi.data() + r * s.d_pad, s.d_pad);
  std::memcpy(qlo.data(), q.qlo.data() + r * s.d_pad, s.d_pad);
  if (dots) dots->assign(s.n, 0);
  if (bounds) bounds->assign(s.n, 0.0f);
  for (size_t j = 0; j < s.n; ++j) {
    std::memcpy(code.data(), s.codes.data() + (g * s.n + j) * s.d_pad, s.d_pad);
    uint32_t sum = 0;  // the shuffle reduction: modulo 2^32
    for (int lane = 0; lane < sketch::kLanesPerKey; ++lane) {
      sum += sketch::LaneDot(qhi.data(), qlo.data(), code.data(), lane, static_cast<int>(s.d_pad));
    }
    const int32_t I = sketch::WithOffset(sum, q.D(r));
    const float ub = sketch::SketchBound(q.T(r), s.a[g * s.n + j], I, q.Qn(r), s.w[g * s.n + j]);
    if (dots) (*dots)[j] = I;
    if (bounds) (*bounds)[j] = ub;
    if (sketch::IsCandidate(ub, q.b_eff(r))) out.push_back(static_cast<uint32_t>(j));
  }
  return out;
}

SketchKv::Key SketchKv::KeyOf(const KvCache& kv, KvDtype t, float scale) {
  return Key(kv.k().data, kv.heads(), kv.n(), kv.d(), kv.k().stride, kv.k().head_stride,
             static_cast<int>(t), scale);
}

SketchKv::SketchKv(std::string_view where, const KvCache& kv, KvDtype t, float scale)
    : key_(KeyOf(kv, t, scale)) {
  const auto t0 = std::chrono::steady_clock::now();
  indexes_ = BuildSketchIndexes(where, kv, t, scale, 0);
  const SketchArrays s = PackSketch(indexes_);
  d_pad_ = s.d_pad;
  codes_.Reserve(std::max<size_t>(16, s.codes.size()));
  a_.Reserve(std::max<size_t>(4, s.a.size() * sizeof(float)));
  w_.Reserve(std::max<size_t>(4, s.w.size() * sizeof(float)));
  if (!s.codes.empty()) codes_.Upload(s.codes.data(), s.codes.size());
  if (!s.a.empty()) {
    a_.Upload(s.a.data(), s.a.size() * sizeof(float));
    w_.Upload(s.w.data(), s.w.size() * sizeof(float));
  }
  build_us_ =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace hsr::gpu
