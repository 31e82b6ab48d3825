// The sketch softmax certificate properties (verify/tests/cert_checks.h) on the recorded 64-token
// slice (layer 3 of tinylm-code-2k, float16, 4 heads, causal prefill), loaded by sim's npy
// workload source; the random and planted cases run in verify/tests/cert_props.cc.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

#include "sim/workload/workload.h"
#include "verify/tests/cert_checks.h"

namespace hsr::verify {
namespace {

// Loaded once: every property case draws its policy, E and threads over the same data.
const Data& RecordedData() {
  static const Data data = [] {
    const sim::Workload w = sim::MakeWorkloadSource(sim::ParseWorkloadSpec(
        std::string("npy:") + HSR_SIM_TESTDATA + "/tinylm-code-64-f16,m=all"))->Make();
    Data c;
    c.hkv = w.kv_heads;
    c.group = w.q_heads / w.kv_heads;
    c.m = w.m;
    c.n = w.n;
    c.d = w.d;
    c.dv = w.dv;
    c.q.assign(w.q.data(), w.q.data() + c.hq() * c.m * c.d);
    c.k.assign(w.k.data(), w.k.data() + c.hkv * c.n * c.d);
    c.v.assign(w.v.data(), w.v.data() + c.hkv * c.n * c.dv);
    c.scale = w.scale;
    c.causal = true;
    c.what = "recorded " + w.description;
    return c;
  }();
  return data;
}

RC_GTEST_PROP(RecordedCertProps, TauReportSketchCertificateBoundsTrueMass, ()) {
  CheckTauReportBoundsTrueMass(RecordedData());
}

RC_GTEST_PROP(RecordedCertProps, ErrPolicyMeetsTargetWithSketchCertificate, ()) {
  CheckErrPolicyMeetsTarget(RecordedData());
}

RC_GTEST_PROP(RecordedCertProps, SketchSelectionDropsAtMostItsCertificate, ()) {
  CheckSketchSelectionDropsAtMostItsCertificate(RecordedData());
}

}  // namespace
}  // namespace hsr::verify
