// Device tests of hsr-cuda-sketch* (certified int8 sketch filter + exact recheck,
// gpu/hsr/sketch_decode.h): for every K/V storage type
//   - the reported SET and every reported score equal hsr-cuda's (scan filter) bit for bit: the
//     sketch's candidates contain every key the scan reports (proof in sketch_kv.h) and the
//     recheck is the scan's own score code, so there is no rounding band here at all;
//   - candidates >= reported per row, and the filter filters (large cases: well under n);
//   - lattice cases: the set equals the CPU scan's exactly; output within the float64 oracle's
//     tolerance, padding untouched.
// Every device test skips visibly ("no CUDA device: ...") without a GPU. Host-side pieces
// (quantisation, packing, bound order, dp4a decomposition) are in sketch_host_test.cc.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/index/scan.h"
#include "gpu/hsr/hsr_cuda_backend.h"
#include "gpu/tests/cuda_case.h"
#include "verify/oracle.h"
#include "verify/tests/attention_case.h"

namespace hsr::gpu {
namespace {

using cuda_test::Devices;
using cuda_test::RoundedKv;
using verify::AttentionCase;
using verify::CaseBuffers;
using verify::Comparison;
using verify::Oracle;

HsrCudaBackend& BackendFor(KvDtype t, HsrFilter f) {
  static std::unique_ptr<HsrCudaBackend> backends[3][2];
  auto& b = backends[static_cast<int>(t)][static_cast<int>(f)];
  if (!b) b = std::make_unique<HsrCudaBackend>(t, f);
  return *b;
}

std::vector<std::pair<uint32_t, float>> Sorted(std::vector<std::pair<uint32_t, float>> v) {
  std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return v;
}

// Returns the total number of candidates over all rows.
size_t CheckCase(const AttentionCase& c, KvDtype t) {
  CaseBuffers buf(c);
  const RoundedKv rounded(buf.Kv(), t);
  const Oracle oracle(buf.Q(), rounded.kv, buf.Params());
  HsrCudaBackend& scan = BackendFor(t, HsrFilter::kScan);
  HsrCudaBackend& sk = BackendFor(t, HsrFilter::kSketch);
  buf.ResetOut();
  scan.Decode(buf.Q(), rounded.kv, buf.Params(), buf.Out(), nullptr);
  scan.ReleaseCache();
  buf.ResetOut();
  AttentionStats stats;
  sk.Decode(buf.Q(), rounded.kv, buf.Params(), buf.Out(), &stats);
  sk.ReleaseCache();  // the next case's buffers may reuse these addresses
  const Comparison cmp = oracle.Compare(buf.Out());
  RC_LOG() << ToString(t) << " plan " << sk.last_plan().Describe() << "\n" << cmp.Describe()
           << "\n";
  RC_ASSERT(cmp.ok);
  RC_ASSERT(buf.PaddingUntouched());
  RC_ASSERT(stats.empty_rows + oracle.ambiguous_rows() >= oracle.empty_rows());
  RC_ASSERT(stats.empty_rows <= oracle.empty_rows() + oracle.ambiguous_rows());

  const AttentionParams& p = buf.Params();
  const size_t group = c.hq / c.hkv, rows = c.hq * c.m;
  size_t candidates = 0;
  for (size_t r = 0; r < rows; ++r) {
    const auto a = Sorted(scan.LastReport(r)), b = Sorted(sk.LastReport(r));
    RC_LOG() << "row " << r << " scan " << a.size() << " sketch " << b.size() << " candidates "
             << sk.last_candidates()[r] << "\n";
    RC_ASSERT(a.size() == b.size());
    for (size_t x = 0; x < a.size(); ++x) {
      RC_ASSERT(a[x].first == b[x].first);
      RC_ASSERT(std::memcmp(&a[x].second, &b[x].second, sizeof(float)) == 0);
    }
    RC_ASSERT(sk.last_candidates()[r] >= sk.last_reported()[r]);
    RC_ASSERT(sk.last_candidates()[r] <= c.n);
    candidates += sk.last_candidates()[r];
  }
  RC_ASSERT(stats.keys_scored == candidates);
  if (c.lattice) {  // exact products: the CPU scan's set is the same set
    for (size_t h = 0; h < c.hq; ++h) {
      ScanIndex index(1);
      index.Build(rounded.kv.k().Head(h / group), p.ScaleFor(c.d));
      for (size_t i = 0; i < c.m; ++i) {
        std::vector<uint32_t> cpu;
        index.Query({buf.Q().Head(h).Row(i), c.d}, p.ThresholdFor(h, c.m, i), &cpu, nullptr);
        std::sort(cpu.begin(), cpu.end());
        const auto gpu = Sorted(sk.LastReport(h * c.m + i));
        RC_ASSERT(cpu.size() == gpu.size());
        for (size_t x = 0; x < cpu.size(); ++x) RC_ASSERT(cpu[x] == gpu[x].first);
      }
    }
  }
  return candidates;
}

void CheckProperty(KvDtype t) {
  const bool ok = rc::check(
      std::string("hsr-cuda-sketch ") + std::string(ToString(t)) +
          ": the scan filter's set and scores bit for bit, oracle output",
      [t] {
        AttentionCase c = *verify::GenAttentionCase();
        c.kind = AttentionKind::kRelu;
        c.decode = true;
        c.causal = false;  // the causal mask over several rows is not on the GPU (hsr_cuda_backend.h)
        RC_LOG() << c.Describe() << "\n";
        RC_CLASSIFY(c.lattice, "lattice");
        CheckCase(c, t);
      });
  EXPECT_TRUE(ok);
}

TEST(HsrCudaSketchProps, F32) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kF32);
}
TEST(HsrCudaSketchProps, F16OnRoundedKv) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kF16);
}
TEST(HsrCudaSketchProps, Bf16OnRoundedKv) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kBf16);
}

// Many key splits: n = 2^15, GQA 4, d = dv = 128, the 0.9 quantile. Gaussian keys: the sketch
// must leave well under half of the keys as candidates (it typically leaves ~10-15%).
TEST(HsrCudaSketchProps, LargeCases) {
  HSR_SKIP_WITHOUT_DEVICE();
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    for (int lattice = 0; lattice < 2; ++lattice) {
      const AttentionCase c = cuda_test::LargeReluDecodeCase(lattice);
      size_t candidates = 0;
      const bool ok = rc::check(c.Describe(), [&] { candidates = CheckCase(c, t); });
      EXPECT_TRUE(ok);
      EXPECT_GT(BackendFor(t, HsrFilter::kSketch).last_plan().splits, 1u);
      if (!c.lattice) {
        EXPECT_LT(candidates, c.hq * c.m * c.n / 2) << c.Describe();
      }
    }
  }
}

TEST(HsrCudaSketchBackendTest, NamesAndNoDeviceError) {
  EXPECT_EQ(HsrCudaBackend::NameFor(KvDtype::kF32, HsrFilter::kSketch), "hsr-cuda-sketch");
  EXPECT_EQ(HsrCudaBackend::NameFor(KvDtype::kF16, HsrFilter::kSketch), "hsr-cuda-sketch-f16");
  EXPECT_EQ(HsrCudaBackend::NameFor(KvDtype::kBf16, HsrFilter::kSketch), "hsr-cuda-sketch-bf16");
  EXPECT_EQ(HsrCudaBackend::NameFor(KvDtype::kBf16), "hsr-cuda-bf16");
  if (!Devices().devices.empty()) GTEST_SKIP() << "a CUDA device is present";
  try {
    HsrCudaBackend backend(KvDtype::kF16, HsrFilter::kSketch);
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("hsr-cuda-sketch-f16: no CUDA device (", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace hsr::gpu
