// hsr verify: the dense property suite over every built backend and every Highway target this
// machine runs (or those asked for),
// on generated cases (verify/cases.h, the same generator the RapidCheck properties use) and on
// given workloads (recorded ones: sampled blocks of query rows, causal prefill as recorded).
// Every check compares against the float64 oracle with derived tolerances (verify/oracle.h).
// What is not exercised is named with its reason, never counted as passed: a backend that cannot
// run here (GPU backends without a device: "no CUDA device"), a target this machine cannot run
// (sim/bench/targets.h), and runs a backend cannot be checked on (softmax without per-row
// certificates, unsupported shapes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hsr::sim {

// Every core half-space index (IndexNames()).
std::vector<std::string> IndexNamesForVerify();

// Index checks run on every kIndexCaseStride-th generated case (building four indexes per kv
// head and target costs more than one attention call).
inline constexpr size_t kIndexCaseStride = 20;

struct VerifyOptions {
  size_t cases = 2000;  // generated cases; case c uses seed + c
  uint64_t seed = 1;
  std::vector<std::string> backends;   // empty: every built backend
  std::vector<std::string> targets;    // target names (targets.h); empty: every one this
                                       // machine runs
  std::vector<std::string> indexes = IndexNamesForVerify();  // each must report scan's sets
  std::vector<std::string> workloads;  // workload SPECs (recorded kinds get m=all)
  size_t blocks = 4, block_rows = 16;  // per workload: blocks of consecutive query rows
  bool inject_fault = false;           // perturb every output (checks the checker; must fail)
  std::function<void(const std::string&)> log;  // failure lines as they happen; may be empty
};

struct PropertyCount {
  std::string name;
  size_t passed = 0, failed = 0;
};

// Dense backends (dense-*) must equal the oracle for softmax and ReLU. HSR backends must equal
// it on ReLU^alpha, which docs/design.md §1 makes exact; their softmax rows may differ by the
// per-row certificate, so hsr-cpu's softmax output is checked against 2 eps max_j |v_jc| + 2 tol
// row by row (verify/cert_check.h) and other approximate backends' softmax runs are counted as
// skipped.
bool ExactSoftmaxBackend(const std::string& backend);

struct VerifyFailure {
  std::string property, backend, target, detail, reproduce;
};

// Something not exercised: a backend or target (runs = 0: skipped as a whole) or runs of a
// backend that could not be checked (runs > 0), with the reason.
struct VerifySkip {
  std::string what;    // "backend dense-cuda", "target avx3_zen4", "hsr-cuda softmax"
  std::string reason;  // "no CUDA device (...)", "not supported by this CPU", ...
  size_t runs = 0;
};

struct VerifyReport {
  std::vector<PropertyCount> properties;
  std::vector<VerifyFailure> failures;
  std::vector<std::string> backends;  // backends checked
  std::vector<std::string> targets;   // Highway targets checked (names as Highway prints them)
  std::vector<VerifySkip> skips;      // in the order met
  size_t cases = 0;
  size_t skipped = 0;  // runs not checked: the sum of skips' runs
  size_t Passed() const;
  bool ok() const { return failures.empty(); }
};

// Throws hsr::Error on bad options (unknown backend, bad workload spec).
VerifyReport RunVerify(const VerifyOptions& options);

}  // namespace hsr::sim
