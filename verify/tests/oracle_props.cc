// The oracle itself (verify/oracle.h): dense-ref's float output passes it, and it cannot
// silently pass everything: a perturbed element, a NaN or an Inf fails at the right position.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>

#include "core/attention/dense_ref.h"
#include "core/base/error.h"
#include "verify/oracle.h"
#include "verify/tests/attention_case.h"

namespace hsr::verify {
namespace {

void Classify(const AttentionCase& c, const Oracle& oracle) {
  RC_CLASSIFY(c.kind == AttentionKind::kSoftmax, "softmax");
  RC_CLASSIFY(c.kind == AttentionKind::kRelu, "relu");
  RC_CLASSIFY(oracle.empty_rows() > 0, "empty rows");
  RC_CLASSIFY(oracle.ambiguous_rows() > 0, "ambiguous rows");
}

RC_GTEST_PROP(OracleProps, DenseRefFloatOutputPasses, ()) {
  const AttentionCase c = *GenAttentionCase();
  RC_LOG() << c.Describe() << "\n";
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  Classify(c, oracle);
  DenseRefBackend ref;
  buf.ResetOut();
  AttentionStats stats;
  buf.Run(ref, &stats);
  const Comparison cmp = oracle.Compare(buf.Out());
  RC_LOG() << "dense-ref: " << cmp.Describe() << "\n";
  RC_ASSERT(cmp.ok);
  RC_ASSERT(buf.PaddingUntouched());
  RC_ASSERT(stats.queries == c.hq * c.m);
  RC_ASSERT(stats.empty_rows == oracle.empty_rows());
}

// Moves one element by 10x its tolerance (or by a tiny amount where it must be exactly 0).
RC_GTEST_PROP(OracleProps, CatchesOnePerturbedElement, ()) {
  const AttentionCase c = *GenAttentionCase();
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  const size_t h = *rc::gen::inRange<size_t>(0, c.hq);
  const size_t i = *rc::gen::inRange<size_t>(0, c.m);
  const size_t col = *rc::gen::inRange<size_t>(0, c.dv);
  const bool up = *rc::gen::arbitrary<bool>();
  RC_LOG() << c.Describe() << " perturb [" << h << "," << i << "," << col << "]"
           << (up ? " up" : " down") << "\n";
  DenseRefBackend ref;
  buf.ResetOut();
  buf.Run(ref, nullptr);
  const double e = oracle.Expected(h, i, col);
  const double tol = oracle.Tolerance(h, i, col);
  const double delta = tol > 0.0 ? 10.0 * tol : 1e-30;
  float& x = buf.Out().Head(h)(i, col);
  x = static_cast<float>(up ? e + delta : e - delta);
  RC_PRE(std::isfinite(x));
  RC_LOG() << "expected " << e << " tol " << tol << " set " << x << "\n";
  RC_ASSERT(std::fabs(double{x} - e) > tol);  // float rounding kept the perturbation
  const Comparison cmp = oracle.Compare(buf.Out());
  RC_LOG() << cmp.Describe() << "\n";
  RC_ASSERT(!cmp.ok);
  RC_ASSERT(cmp.worst_head == h && cmp.worst_row == i && cmp.worst_col == col);
  RC_ASSERT(cmp.max_abs_err >= std::fabs(double{x} - e) * 0.999);
}

RC_GTEST_PROP(OracleProps, CatchesNaNAndInf, ()) {
  const AttentionCase c = *GenAttentionCase();
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  const size_t h = *rc::gen::inRange<size_t>(0, c.hq);
  const size_t i = *rc::gen::inRange<size_t>(0, c.m);
  const size_t col = *rc::gen::inRange<size_t>(0, c.dv);
  const float bad = *rc::gen::element(std::numeric_limits<float>::quiet_NaN(),
                                      std::numeric_limits<float>::infinity(),
                                      -std::numeric_limits<float>::infinity());
  DenseRefBackend ref;
  buf.ResetOut();
  buf.Run(ref, nullptr);
  buf.Out().Head(h)(i, col) = bad;
  const Comparison cmp = oracle.Compare(buf.Out());
  RC_LOG() << c.Describe() << " " << cmp.Describe() << "\n";
  RC_ASSERT(!cmp.ok);
  RC_ASSERT(cmp.worst_head == h && cmp.worst_row == i && cmp.worst_col == col);
  RC_ASSERT(!std::isfinite(cmp.actual));
  RC_ASSERT(std::isinf(cmp.max_abs_err));
}

// The tolerance is useful, not vacuous: for a typical softmax decode it is far below the
// change caused by dropping one of n = 256 keys.
TEST(OracleTest, ToleranceIsTightForTypicalSoftmax) {
  AttentionCase c;
  c.hq = 2, c.hkv = 1, c.m = 4, c.n = 256, c.d = 64, c.dv = 64, c.seed = 7;
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  double max_tol = 0.0;
  for (size_t h = 0; h < c.hq; ++h)
    for (size_t i = 0; i < c.m; ++i)
      for (size_t col = 0; col < c.dv; ++col)
        max_tol = std::max(max_tol, oracle.Tolerance(h, i, col));
  const double max_v = MaxAbs(buf.Kv().v());
  EXPECT_GT(max_tol, 0.0);
  // Worst-case bound: ~ (V e_exp + gamma(2V+2) + score terms) * max|v|, about 1e-4 here.
  EXPECT_LT(max_tol, 1e-3 * max_v) << "max tol " << max_tol << " max|v| " << max_v;
}

// A kernel bug of the kind masks and loop tails cause: the last key is dropped (dense-ref run
// on the first n - 1 keys). The oracle must notice it, for softmax and for ReLU.
TEST(OracleTest, CatchesADroppedKey) {
  for (AttentionKind kind : {AttentionKind::kSoftmax, AttentionKind::kRelu}) {
    AttentionCase c;
    c.hq = 2, c.hkv = 1, c.m = 4, c.n = 256, c.d = 64, c.dv = 64, c.seed = 11;
    c.kind = kind, c.alpha = 2, c.b_quantile = 0.5;
    CaseBuffers buf(c);
    const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
    ConstHeadsView k = buf.Kv().k(), v = buf.Kv().v();
    k.rows -= 1;
    v.rows -= 1;
    DenseRefBackend ref;
    buf.ResetOut();
    ref.Decode(buf.Q(), KvCache(k, v), buf.Params(), buf.Out(), nullptr);
    const Comparison cmp = oracle.Compare(buf.Out());
    EXPECT_FALSE(cmp.ok) << ToString(kind) << ": " << cmp.Describe();
  }
}

TEST(OracleTest, EmptyRowsMustBeExactlyZero) {
  AttentionCase c;
  c.hq = 1, c.m = 6, c.n = 4, c.d = 8, c.dv = 8, c.decode = false, c.causal = true;
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  EXPECT_EQ(oracle.empty_rows(), 2u);  // rows 0 and 1 see no key
  DenseRefBackend ref;
  buf.ResetOut();
  buf.Run(ref, nullptr);
  EXPECT_TRUE(oracle.Compare(buf.Out()).ok);
  for (size_t col = 0; col < c.dv; ++col) EXPECT_EQ(oracle.Tolerance(0, 1, col), 0.0);
  buf.Out().Head(0)(1, 3) = 1e-30f;
  const Comparison cmp = oracle.Compare(buf.Out());
  EXPECT_FALSE(cmp.ok) << cmp.Describe();
  EXPECT_EQ(cmp.worst_row, 1u);
  EXPECT_EQ(cmp.worst_col, 3u);
}

TEST(OracleTest, MaxAbs) {
  const float data[] = {1.0f, -3.5f, 2.0f, 9.0f};  // [1, 1, 3] excludes the 9; [2, 1, 2] not
  EXPECT_EQ(MaxAbs(ConstHeadsView(data, 1, 1, 3)), 3.5);
  EXPECT_EQ(MaxAbs(ConstHeadsView(data, 2, 1, 2)), 9.0);
  EXPECT_EQ(MaxAbs(ConstHeadsView()), 0.0);
  const float nan[] = {1.0f, std::nanf("")};
  EXPECT_TRUE(std::isnan(MaxAbs(ConstHeadsView(nan, 1, 1, 2))));
}

TEST(OracleTest, CompareRejectsWrongShape) {
  AttentionCase c;
  c.n = 3, c.d = 4, c.dv = 4;
  CaseBuffers buf(c);
  const Oracle oracle(buf.Q(), buf.Kv(), buf.Params());
  const float out[5] = {};
  EXPECT_THROW(oracle.Compare(ConstHeadsView(out, 1, 1, 5)), hsr::Error);
}

}  // namespace
}  // namespace hsr::verify
