// balltree: exact ball tree (docs/design.md §2 "Structure", "Low d"): meant for low d and
// clustered keys; at d = 64-128 on Gaussian keys it prunes nothing (measured, docs/design.md §2).
//
// Nodes hold a float center c (mean of the subtree at split time) and a radius R >= ||k - c||
// for every key below (double, rounded up, grown by inserts). Splits: 2-means-like, pivots a =
// farthest key from c, b = farthest from a, keys split at the median of their projection on
// b - a (balanced). Leaves hold <= 2 x leaf_size keys, contiguous, with their ids.
// Query, per node, in double: with E = ScoreRelErr(d) scale ||q|| (||c|| + R) + ScoreAbsErr +
// double-rounding slack (a bound on |ScoreRun - scale <q, k>| for every key below):
//   ub = scale (<q, c> + ||q|| R) + E <= b  ->  prune (no key below has ScoreRun > b);
//   lb = scale (<q, c> - ||q|| R) - E >  b  ->  report the whole subtree without recheck;
// otherwise descend; leaves are rechecked with ScoreRun. When ||q|| max||k|| may overflow
// (key_store.h) every leaf is rechecked. Single-threaded.
// Insert: descend to the nearest child center, grow radii on the path, append to the leaf;
// a leaf over 2 x leaf_size splits in two: amortised O(depth d + d) per insert (a split costs
// O(leaf_size d) and happens at most once per leaf_size inserts into a leaf). Centers stay
// fixed, so the tree stays exact; it only loosens for adversarial insert orders.
// Test: verify/tests/index_props.cc.
#pragma once

#include <cstdint>
#include <vector>

#include "core/index/half_space_index.h"
#include "core/index/key_store.h"

namespace hsr {

class BallTreeIndex : public HalfSpaceIndex {
 public:
  explicit BallTreeIndex(size_t leaf_size = 48, uint64_t seed = 1);
  ~BallTreeIndex() override;

  void Build(ConstMatrixView keys, float scale) override;
  uint32_t Insert(std::span<const float> key) override;
  void Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
             IndexStats* st) const override;
  std::string_view Name() const override { return "balltree"; }
  size_t MemoryBytes() const override;
  std::vector<std::span<const std::byte>> Buffers() const override;  // keys, nodes, leaves
  size_t size() const override { return keys_.n(); }
  size_t dim() const override { return keys_.d(); }
  std::string Describe() const override;

  struct Node {
    std::vector<float> center;  // d
    double center_norm = 0.0;   // ||c||, rounded up
    double radius = 0.0;        // >= ||k - c|| for every key below
    int32_t left = -1, right = -1;  // children (both -1 for a leaf)
    std::vector<uint32_t> ids;  // leaf: key ids
    std::vector<float> keys;    // leaf: ids.size() x d, contiguous
  };
  struct Counters {
    uint64_t nodes = 0, rechecked = 0, bulk = 0;
  };
  struct Tree {
    const std::vector<Node>* nodes = nullptr;
    size_t d = 0;
    float scale = 1.0f;
  };

 private:
  int32_t MakeNode(std::vector<uint32_t> ids);  // recursive; returns node index
  void Split(int32_t leaf);

  index_detail::KeyStore keys_;
  size_t leaf_size_;
  uint64_t seed_;
  std::vector<Node> nodes_;  // nodes_[0] is the root once built
};

}  // namespace hsr
