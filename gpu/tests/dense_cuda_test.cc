// Device tests of dense-cuda (gpu/attention/dense_cuda_backend.h): the same properties as the
// CPU backends (verify/tests/dense_props.cc) against the float64 oracle with its derived
// tolerance, for every K/V storage type, plus split-K at large n and bad inputs. Every test
// skips visibly ("no CUDA device: ...") where there is no usable GPU.
// float16 / bfloat16 storage: the oracle sees the rounded K/V (cuda_case.h RoundedKv), so the
// check stays as tight as for float32.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "gpu/attention/dense_cuda_backend.h"
#include "gpu/base/device.h"
#include "gpu/tests/cuda_case.h"
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

DenseCudaBackend& BackendFor(KvDtype t) {
  static std::unique_ptr<DenseCudaBackend> backends[3];
  auto& b = backends[static_cast<int>(t)];
  if (!b) b = std::make_unique<DenseCudaBackend>(t);
  return *b;
}

// One case through one storage type; RC_ASSERTs inside.
void CheckCase(const AttentionCase& c, KvDtype t) {
  CaseBuffers buf(c);
  const RoundedKv rounded(buf.Kv(), t);
  const Oracle oracle(buf.Q(), rounded.kv, buf.Params());
  DenseCudaBackend& backend = BackendFor(t);
  buf.ResetOut();
  AttentionStats stats;
  if (c.decode) {
    backend.Decode(buf.Q(), rounded.kv, buf.Params(), buf.Out(), &stats);
  } else {
    backend.Prefill(buf.Q(), rounded.kv, buf.Params(), buf.Out(), &stats);
  }
  backend.ReleaseCache();  // the next case's buffers may reuse these addresses
  const Comparison cmp = oracle.Compare(buf.Out());
  RC_LOG() << ToString(t) << " plan " << backend.last_plan().Describe() << "\n"
           << cmp.Describe() << "\n";
  RC_ASSERT(cmp.ok);
  RC_ASSERT(buf.PaddingUntouched());
  RC_ASSERT(stats.queries == c.hq * c.m);
  // Empty rows: exactly the oracle's, except rows the oracle marks ambiguous (may flip).
  RC_ASSERT(stats.empty_rows + oracle.ambiguous_rows() >= oracle.empty_rows());
  RC_ASSERT(stats.empty_rows <= oracle.empty_rows() + oracle.ambiguous_rows());
}

void CheckProperty(KvDtype t) {
  const bool ok = rc::check(std::string("dense-cuda ") + std::string(ToString(t)) +
                                " equals the float64 oracle within the derived tolerance",
                            [t] {
                              const AttentionCase c = *verify::GenAttentionCase();
                              RC_LOG() << c.Describe() << "\n";
                              RC_CLASSIFY(c.kind == AttentionKind::kRelu, "relu");
                              RC_CLASSIFY(c.causal, c.decode ? "causal decode" : "causal prefill");
                              CheckCase(c, t);
                            });
  EXPECT_TRUE(ok);
}

TEST(DenseCudaProps, F32EqualsOracle) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kF32);
}
TEST(DenseCudaProps, F16EqualsOracleOnRoundedKv) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kF16);
}
TEST(DenseCudaProps, Bf16EqualsOracleOnRoundedKv) {
  HSR_SKIP_WITHOUT_DEVICE();
  CheckProperty(KvDtype::kBf16);
}

// Many splits and row groups: n = 2^16 keys, GQA 4, d = dv = 128, softmax and ReLU^2 at the
// 0.99 quantile (few keys pass), decode and causal prefill with m = 7.
TEST(DenseCudaProps, LargeSplitKCases) {
  HSR_SKIP_WITHOUT_DEVICE();
  for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBf16}) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int decode = 0; decode < 2; ++decode) {
        AttentionCase c;
        c.hq = 8;
        c.hkv = 2;
        c.m = decode ? 2 : 7;
        c.n = size_t{1} << 16;
        c.d = c.dv = 128;
        c.kind = kind ? AttentionKind::kRelu : AttentionKind::kSoftmax;
        c.alpha = 2;
        c.decode = decode != 0;
        c.causal = true;
        c.b_quantile = 0.99;
        c.per_query_b = true;
        c.seed = 42 + kind;
        SCOPED_TRACE(c.Describe());
        const bool ok = rc::check(c.Describe(), [&] { CheckCase(c, t); });
        EXPECT_TRUE(ok);
        EXPECT_GT(BackendFor(t).last_plan().splits, 1u);
      }
    }
  }
}

TEST(DenseCudaProps, BadInputsAreOneLineErrors) {
  HSR_SKIP_WITHOUT_DEVICE();
  DenseCudaBackend& backend = BackendFor(KvDtype::kF32);
  std::vector<float> k(4 * 8, 0.5f), v(4 * 8, 1.0f), q(8, 0.25f), out(8);
  const KvCache kv(ConstHeadsView(k.data(), 1, 4, 8), ConstHeadsView(v.data(), 1, 4, 8));
  q[3] = std::nanf("");
  AttentionParams p;
  EXPECT_THROW(backend.Decode(ConstHeadsView(q.data(), 1, 1, 8), kv, p,
                              HeadsView(out.data(), 1, 1, 8), nullptr),
               Error);
  std::vector<float> wide_k(2 * 1100, 0.1f), wide_q(1100, 0.1f), wide_v(2 * 4, 1.0f);
  const KvCache wide(ConstHeadsView(wide_k.data(), 1, 2, 1100),
                     ConstHeadsView(wide_v.data(), 1, 2, 4));
  std::vector<float> o4(4);
  try {
    backend.Decode(ConstHeadsView(wide_q.data(), 1, 1, 1100), wide, p,
                   HeadsView(o4.data(), 1, 1, 4), nullptr);
    FAIL() << "expected hsr::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "dense-cuda Decode: expected 1 <= d <= 1024, got d=1100");
  }
  std::vector<float> big_v(4 * 8, 1e5f);
  const KvCache big(ConstHeadsView(k.data(), 1, 4, 8), ConstHeadsView(big_v.data(), 1, 4, 8));
  q[3] = 0.25f;
  EXPECT_THROW(BackendFor(KvDtype::kF16).Decode(ConstHeadsView(q.data(), 1, 1, 8), big, p,
                                                HeadsView(out.data(), 1, 1, 8), nullptr),
               Error);
}

}  // namespace
}  // namespace hsr::gpu
