// Device tests of hsr-cuda (gpu/hsr/hsr_cuda_backend.h): ReLU^alpha output within the float64
// oracle's derived tolerance, and the reported SETS against the CPU `scan` index, for every
// K/V storage type; every device test skips visibly ("no CUDA device: ...") without a GPU.
//
// Why sets are compared with a band, and which band: the GPU and the CPU scan (ScoreRun) both
// compute s_j = scale * <q, k_j> in float32 from the same float32 inputs and the same float
// scale, but sum the d products in different orders (warp lanes + butterfly vs SIMD lanes,
// which also differ between Highway targets). Any-order float32 summation of d terms errs by
// at most gamma(d) * sum_c |q_c k_jc| (Higham, Thm 3.1), the scale multiply by one more u, so
// each computed score is within
//     E_j = scale * gamma(d + 2) * sum_c |q_c k_jc| + d * scale * 2^-126 (flush of tiny products)
// of the float64 score s64_j. The two sides can classify key j differently (one s~ > b, the
// other <= b) only if |s64_j - b| <= E_j. So: GPU set == CPU set outside that band, every GPU
// score is within E_j of s64_j and > b, and on "lattice" cases (values k/64: every product and
// partial sum is exact in float32, in any order) the sets must be IDENTICAL.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/index/scan.h"
#include "gpu/base/device.h"
#include "gpu/tests/cuda_case.h"
#include "gpu/hsr/hsr_cuda_backend.h"
#include "verify/oracle.h"
#include "verify/tests/attention_case.h"

namespace hsr::gpu {
namespace {

using verify::AttentionCase;
using verify::CaseBuffers;
using verify::Comparison;
using verify::Oracle;

using cuda_test::Devices;
using cuda_test::RoundedKv;

HsrCudaBackend& BackendFor(KvDtype t) {
  static std::unique_ptr<HsrCudaBackend> backends[3];
  auto& b = backends[static_cast<int>(t)];
  if (!b) b = std::make_unique<HsrCudaBackend>(t);
  return *b;
}

void CheckCase(const AttentionCase& c, KvDtype t) {
  CaseBuffers buf(c);
  const RoundedKv rounded(buf.Kv(), t);
  const Oracle oracle(buf.Q(), rounded.kv, buf.Params());
  HsrCudaBackend& backend = BackendFor(t);
  buf.ResetOut();
  AttentionStats stats;
  backend.Decode(buf.Q(), rounded.kv, buf.Params(), buf.Out(), &stats);
  backend.ReleaseCache();  // the next case's buffers may reuse these addresses
  const Comparison cmp = oracle.Compare(buf.Out());
  RC_LOG() << ToString(t) << " plan " << backend.last_plan().Describe() << " candidate splits "
           << backend.last_candidate_splits() << "\n" << cmp.Describe() << "\n";
  RC_ASSERT(cmp.ok);
  RC_ASSERT(buf.PaddingUntouched());
  RC_ASSERT(stats.empty_rows + oracle.ambiguous_rows() >= oracle.empty_rows());
  RC_ASSERT(stats.empty_rows <= oracle.empty_rows() + oracle.ambiguous_rows());

  // Sets, row by row, against the CPU scan on the same rounded keys.
  const AttentionParams& p = buf.Params();
  const float scale = p.ScaleFor(c.d);
  const double u = 0x1p-24, gamma = (c.d + 2.0) * u / (1.0 - (c.d + 2.0) * u);
  const size_t group = c.hq / c.hkv;
  for (size_t g = 0; g < c.hkv; ++g) {
    ScanIndex scan(1);
    scan.Build(rounded.kv.k().Head(g), scale);
    for (size_t h = g * group; h < (g + 1) * group; ++h) {
      for (size_t i = 0; i < c.m; ++i) {
        const float b = p.ThresholdFor(h, c.m, i);
        const float* q = buf.Q().Head(h).Row(i);
        std::vector<uint32_t> cpu;
        scan.Query({q, c.d}, b, &cpu, nullptr);
        const auto gpu = backend.LastReport(h * c.m + i);
        RC_ASSERT(gpu.size() == backend.last_reported()[h * c.m + i]);
        std::set<uint32_t> gpu_ids, cpu_ids(cpu.begin(), cpu.end());
        for (const auto& [id, s] : gpu) {
          RC_ASSERT(id < c.n);
          RC_ASSERT(gpu_ids.insert(id).second);  // no key twice
          RC_ASSERT(s > b);                      // strict, as every index
        }
        for (size_t j = 0; j < c.n; ++j) {
          const float* kj = rounded.kv.k().Head(g).Row(j);
          double dot = 0, mag = 0;
          for (size_t x = 0; x < c.d; ++x) {
            dot += double{q[x]} * double{kj[x]};
            mag += std::fabs(double{q[x]} * double{kj[x]});
          }
          const double s64 = double{scale} * dot;
          const double e = double{scale} * (gamma * mag + static_cast<double>(c.d) * 0x1p-126);
          const bool in_gpu = gpu_ids.count(static_cast<uint32_t>(j)) != 0;
          const bool in_cpu = cpu_ids.count(static_cast<uint32_t>(j)) != 0;
          if (in_gpu != in_cpu) {
            RC_LOG() << "row h=" << h << " i=" << i << " key " << j << " gpu " << in_gpu
                     << " cpu " << in_cpu << " s64 - b " << (s64 - b) << " band " << e << "\n";
            RC_ASSERT(!c.lattice);  // exact products: both sides compute the same float score
            RC_ASSERT(std::fabs(s64 - double{b}) <= e);
          }
        }
        for (const auto& [id, s] : gpu) {
          const float* kj = rounded.kv.k().Head(g).Row(id);
          double dot = 0, mag = 0;
          for (size_t x = 0; x < c.d; ++x) {
            dot += double{q[x]} * double{kj[x]};
            mag += std::fabs(double{q[x]} * double{kj[x]});
          }
          RC_ASSERT(std::fabs(double{s} - double{scale} * dot) <=
                    double{scale} * (gamma * mag + static_cast<double>(c.d) * 0x1p-126));
        }
      }
    }
  }
}

void CheckProperty(KvDtype t) {
  const bool ok = rc::check(
      std::string("hsr-cuda ") + std::string(ToString(t)) +
          ": oracle output, sets equal to the CPU scan outside the rounding band",
      [t] {
        AttentionCase c = *verify::GenAttentionCase();
        c.kind = AttentionKind::kRelu;  // hsr-cuda: ReLU^alpha decode without the causal mask
        c.decode = true;
        c.causal = false;
        RC_LOG() << c.Describe() << "\n";
        RC_CLASSIFY(c.lattice, "lattice (sets must be identical)");
        CheckCase(c, t);
      });
  EXPECT_TRUE(ok);
}

TEST(HsrCudaProps, F32) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kF32);
}
TEST(HsrCudaProps, F16OnRoundedKv) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kF16);
}
TEST(HsrCudaProps, Bf16OnRoundedKv) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kBf16);
}

// Many key splits and candidate splits: n = 2^15, GQA 4, d = dv = 128, ReLU^alpha at the 0.9
// quantile, Gaussian and lattice values.
TEST(HsrCudaProps, LargeCases) {
  HSR_SKIP_WITHOUT_DEVICE();
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    for (int lattice = 0; lattice < 2; ++lattice) {
      const AttentionCase c = cuda_test::LargeReluDecodeCase(lattice);
      const bool ok = rc::check(c.Describe(), [&] { CheckCase(c, t); });
      EXPECT_TRUE(ok);
      EXPECT_GT(BackendFor(t).last_plan().splits, 1u);
      EXPECT_GT(BackendFor(t).last_candidate_splits(), 1u);
    }
  }
}

TEST(HsrCudaProps, UnsupportedModesAreOneLineErrors) {
  HSR_SKIP_WITHOUT_DEVICE();
  HsrCudaBackend& backend = BackendFor(KvDtype::kF32);
  std::vector<float> k(4 * 8, 0.5f), v(4 * 8, 1.0f), q(2 * 8, 0.25f), out(2 * 8);
  const KvCache kv(ConstHeadsView(k.data(), 1, 4, 8), ConstHeadsView(v.data(), 1, 4, 8));
  AttentionParams p;  // softmax
  try {
    backend.Decode(ConstHeadsView(q.data(), 1, 1, 8), kv, p, HeadsView(out.data(), 1, 1, 8),
                   nullptr);
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "hsr-cuda Decode: expected attention relu (softmax-HSR is not on the "
                           "GPU yet), got softmax");
  }
  p.kind = AttentionKind::kRelu;
  p.causal = true;
  // The causal mask over two query rows (row 0 sees 3 of the 4 keys): never silently unmasked.
  for (bool prefill : {false, true}) {
    try {
      const ConstHeadsView q2(q.data(), 1, 2, 8);
      const HeadsView o2(out.data(), 1, 2, 8);
      if (prefill) backend.Prefill(q2, kv, p, o2, nullptr);
      else backend.Decode(q2, kv, p, o2, nullptr);
      FAIL() << "expected hsr::Error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "hsr-cuda Decode: expected causal off or m = 1 (the causal mask "
                             "over several query rows is not on the GPU yet; use hsr-cpu or "
                             "dense-cuda), got causal with m = 2");
    }
  }
  // With one query row the mask hides nothing: it runs.
  backend.Decode(ConstHeadsView(q.data(), 1, 1, 8), kv, p, HeadsView(out.data(), 1, 1, 8),
                 nullptr);
  backend.ReleaseCache();
}

TEST(HsrCudaBackendTest, NoDeviceIsAOneLineError) {
  if (!Devices().devices.empty()) GTEST_SKIP() << "a CUDA device is present";
  try {
    HsrCudaBackend backend(KvDtype::kF16);
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("hsr-cuda-f16: no CUDA device (", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace hsr::gpu
