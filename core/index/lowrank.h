// lowrank: projection bound + exact recheck (docs/design.md §2, "Bytes"; for low-rank keys).
//
// Build learns r directions U (r x d, float) from the keys: the top-r eigenvectors of the
// uncentred second moment K^T K / n of a strided sample of <= 4096 keys (cyclic Jacobi,
// double). r = rank option, or the smallest r holding `energy` of the trace (r <= max(1, d/4)).
// Per key it stores p_j = U k_j (r floats, in blocks of 16 keys, SoA), rn_j >= ||k_j - U^T p_j||
// and one slack coefficient w_j. For any U (orthonormal or not) and uq = U q computed in double,
// q_perp = q - U^T uq:
//   <q, k_j> = <Uq, p_j> + <q_perp, k_perp_j> + <uq, U k_perp_j>
//            <= <Uq, p_j> + ||q_perp|| ||k_perp_j|| + ||uq|| eps_j,  eps_j = ||U k_perp_j||,
// and w_j adds ScoreRun's rounding and that of the float evaluation (proof in lowrank.cc).
// Insert projects the new key with the fixed U: O(r d) per insert, still exact (the residual
// term absorbs what U misses), only less tight. Test: verify/tests/index_props.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/index/half_space_index.h"
#include "core/index/key_store.h"

namespace hsr {

class ThreadPool;

class LowRankIndex : public HalfSpaceIndex {
 public:
  // rank 0: automatic (energy share); threads as ThreadPool.
  LowRankIndex(size_t threads = 1, size_t rank = 0, double energy = 0.95);
  ~LowRankIndex() override;

  void Build(ConstMatrixView keys, float scale) override;
  uint32_t Insert(std::span<const float> key) override;
  void Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
             IndexStats* st) const override;
  std::string_view Name() const override { return "lowrank"; }
  size_t MemoryBytes() const override;
  std::vector<std::span<const std::byte>> Buffers() const override {
    using index_detail::BytesOf;
    return {keys_.Buffer(), BytesOf(u_), BytesOf(proj_), BytesOf(rn_), BytesOf(w_)};
  }
  size_t size() const override { return keys_.n(); }
  size_t dim() const override { return keys_.d(); }
  std::string Describe() const override;

  size_t rank() const { return r_; }
  double energy_share() const { return energy_share_; }  // of the Build sample, in [0, 1]

  // Debug/test: the value compared against b for every key (tiny slack included); +Inf where
  // bounds are not trusted.
  std::vector<double> UpperBounds(std::span<const float> q) const;

  static constexpr size_t kBlock = 16;  // keys per SoA block of projections
  struct QueryCode {
    std::vector<float> v;  // r: fl(scale U q)
    float Qp = 0.0f, Qn = 0.0f;
    double tiny = 0.0;
    bool trusted = false;
  };
  struct Layout : index_detail::KeyRows {
    size_t r = 0;
    const float* proj = nullptr;  // [n / kBlock rounded up][r][kBlock]
    const float* rn = nullptr;    // n (blocks padded)
    const float* w = nullptr;     // n (blocks padded)
  };

 private:
  void AppendRow(const float* key);
  QueryCode Encode(std::span<const float> q) const;
  Layout GetLayout() const;

  index_detail::KeyStore keys_;
  size_t want_rank_ = 0;
  double energy_ = 0.95;
  size_t r_ = 0;
  size_t rows_ = 0;  // keys appended to proj_ / rn_ / w_
  double energy_share_ = 0.0;
  std::vector<float> u_;  // r x d
  std::vector<float> proj_, rn_, w_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace hsr
