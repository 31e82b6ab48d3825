// balltree: Highway dispatch unit (the traversal runs inside one target). See balltree.h;
// reference: scan.cc; test: index_props.cc.
#include "core/index/balltree.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/index/balltree.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/index/recheck-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hsr {
namespace HWY_NAMESPACE {

void CollectIds(const std::vector<BallTreeIndex::Node>& nodes, int32_t at,
                std::vector<uint32_t>* out) {
  const auto& node = nodes[at];
  if (node.left < 0) {
    out->insert(out->end(), node.ids.begin(), node.ids.end());
    return;
  }
  CollectIds(nodes, node.left, out);
  CollectIds(nodes, node.right, out);
}

void BallTreeQueryT(const BallTreeIndex::Tree& t, const float* q, float b, double qn,
                    bool trusted, double rel_err, double abs_err, std::vector<uint32_t>* ids,
                    BallTreeIndex::Counters* cnt) {
  const auto& nodes = *t.nodes;
  if (nodes.empty()) return;
  const double scale = t.scale;
  constexpr size_t kChunk = 128;
  HWY_ALIGN float scores[kChunk];
  std::vector<int32_t> stack{0};
  while (!stack.empty()) {
    const int32_t at = stack.back();
    stack.pop_back();
    const auto& node = nodes[at];
    ++cnt->nodes;
    if (trusted) {
      double dot = 0.0;
      for (size_t c = 0; c < t.d; ++c) dot += double{q[c]} * node.center[c];
      const double reach = qn * (node.center_norm + node.radius);
      const double e = rel_err * scale * reach + 0x1p-40 * scale * reach + abs_err;
      const double ub = scale * (dot + qn * node.radius) + e;
      if (ub <= b) continue;  // every ScoreRun below <= ub <= b
      const double lb = scale * (dot - qn * node.radius) - e;
      if (lb > b) {  // every ScoreRun below >= lb > b
        const size_t before = ids->size();
        CollectIds(nodes, at, ids);
        cnt->bulk += ids->size() - before;
        continue;
      }
    }
    if (node.left >= 0) {
      stack.push_back(node.right);
      stack.push_back(node.left);
      continue;
    }
    const size_t count = node.ids.size();
    cnt->rechecked += count;
    for (size_t j0 = 0; j0 < count; j0 += kChunk) {
      const size_t c = std::min(kChunk, count - j0);
      ScoreRun(q, node.keys.data() + j0 * t.d, t.d, t.d, c, t.scale, scores);
      for (size_t j = 0; j < c; ++j) {
        if (scores[j] > b) ids->push_back(node.ids[j0 + j]);
      }
    }
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace hsr
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hsr {

HWY_EXPORT(BallTreeQueryT);

using index_detail::NormUp;

namespace {

double DistUp(const float* a, const float* b, size_t d) {
  double s = 0.0;
  for (size_t c = 0; c < d; ++c) {
    const double x = double{a[c]} - b[c];
    s += x * x;
  }
  return std::sqrt(s) * (1.0 + 0x1p-30);
}

}  // namespace

BallTreeIndex::BallTreeIndex(size_t leaf_size, uint64_t seed)
    : leaf_size_(std::max<size_t>(1, leaf_size)), seed_(seed) {}
BallTreeIndex::~BallTreeIndex() = default;

size_t BallTreeIndex::MemoryBytes() const {
  size_t bytes = keys_.Bytes() + nodes_.capacity() * sizeof(Node);
  for (const Node& node : nodes_) {
    bytes += (node.center.capacity() + node.keys.capacity()) * sizeof(float) +
             node.ids.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

std::vector<std::span<const std::byte>> BallTreeIndex::Buffers() const {
  using index_detail::BytesOf;
  std::vector<std::span<const std::byte>> out = {keys_.Buffer(), BytesOf(nodes_)};
  for (const Node& node : nodes_) {
    for (const auto b : {BytesOf(node.center), BytesOf(node.ids), BytesOf(node.keys)}) {
      if (!b.empty()) out.push_back(b);
    }
  }
  return out;
}

std::string BallTreeIndex::Describe() const {
  size_t leaves = 0;
  for (const Node& node : nodes_) leaves += node.left < 0;
  return fmt::format("nodes={} leaves={} leaf_size={}", nodes_.size(), leaves, leaf_size_);
}

// Builds the subtree over ids; returns its node index. Leaves hold <= leaf_size_ keys.
int32_t BallTreeIndex::MakeNode(std::vector<uint32_t> ids) {
  const size_t d = keys_.d();
  Node node;
  std::vector<double> mean(d, 0.0);
  for (uint32_t id : ids) {
    const float* k = keys_.Row(id);
    for (size_t c = 0; c < d; ++c) mean[c] += k[c];
  }
  node.center.resize(d);
  for (size_t c = 0; c < d; ++c) {
    node.center[c] = ids.empty() ? 0.0f : static_cast<float>(mean[c] / ids.size());
  }
  node.center_norm = NormUp(node.center.data(), d);
  for (uint32_t id : ids) node.radius = std::max(node.radius, DistUp(keys_.Row(id), node.center.data(), d));
  const int32_t at = static_cast<int32_t>(nodes_.size());
  if (ids.size() <= leaf_size_) {
    node.keys.reserve(ids.size() * d);
    for (uint32_t id : ids) node.keys.insert(node.keys.end(), keys_.Row(id), keys_.Row(id) + d);
    node.ids = std::move(ids);
    nodes_.push_back(std::move(node));
    return at;
  }
  // Pivots: a farthest from the center, b farthest from a; split at the median projection.
  auto farthest = [&](const float* from) {
    uint32_t best = ids[0];
    double best_d = -1.0;
    for (uint32_t id : ids) {
      const double dist = DistUp(keys_.Row(id), from, d);
      if (dist > best_d) best_d = dist, best = id;
    }
    return best;
  };
  const uint32_t a = farthest(node.center.data());
  const uint32_t bb = farthest(keys_.Row(a));
  std::vector<double> dir(d);
  for (size_t c = 0; c < d; ++c) dir[c] = double{keys_.Row(bb)[c]} - keys_.Row(a)[c];
  std::vector<std::pair<double, uint32_t>> proj(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    double s = 0.0;
    const float* k = keys_.Row(ids[i]);
    for (size_t c = 0; c < d; ++c) s += dir[c] * k[c];
    proj[i] = {s, ids[i]};
  }
  const size_t half = ids.size() / 2;
  std::nth_element(proj.begin(), proj.begin() + half, proj.end());
  std::vector<uint32_t> lo, hi;
  lo.reserve(half);
  hi.reserve(ids.size() - half);
  for (size_t i = 0; i < proj.size(); ++i) (i < half ? lo : hi).push_back(proj[i].second);
  nodes_.push_back(std::move(node));
  const int32_t l = MakeNode(std::move(lo));
  const int32_t r = MakeNode(std::move(hi));
  nodes_[at].left = l;
  nodes_[at].right = r;
  return at;
}

void BallTreeIndex::Build(ConstMatrixView keys, float scale) {
  index_detail::KeyStore store;
  store.Assign("balltree Build", keys, scale);
  keys_ = std::move(store);
  nodes_.clear();
  std::vector<uint32_t> ids(keys_.n());
  for (size_t j = 0; j < ids.size(); ++j) ids[j] = static_cast<uint32_t>(j);
  MakeNode(std::move(ids));  // an empty root leaf when n = 0
}

// Turns an over-full leaf into an internal node with two fresh leaves (same split rule),
// keeping its center and radius (still valid bounds for every key below).
void BallTreeIndex::Split(int32_t leaf) {
  std::vector<uint32_t> ids = std::move(nodes_[leaf].ids);
  nodes_[leaf].ids.clear();
  nodes_[leaf].keys.clear();
  nodes_[leaf].keys.shrink_to_fit();
  // MakeNode splits ids (> leaf_size_) into two children under a temporary node.
  const int32_t tmp = MakeNode(std::move(ids));
  nodes_[leaf].left = nodes_[tmp].left;
  nodes_[leaf].right = nodes_[tmp].right;
  // The temporary node stays unreachable; mark it empty (a leaf with no keys).
  nodes_[tmp] = Node{};
}

uint32_t BallTreeIndex::Insert(std::span<const float> key) {
  const uint32_t id = keys_.Append("balltree Insert", key);
  const size_t d = keys_.d();
  const float* k = keys_.Row(id);
  int32_t at = 0;
  for (;;) {
    Node& node = nodes_[at];
    node.radius = std::max(node.radius, DistUp(k, node.center.data(), d));
    if (node.left < 0) break;
    const double dl = DistUp(k, nodes_[node.left].center.data(), d);
    const double dr = DistUp(k, nodes_[node.right].center.data(), d);
    at = dl <= dr ? node.left : node.right;
  }
  nodes_[at].ids.push_back(id);
  nodes_[at].keys.insert(nodes_[at].keys.end(), k, k + d);
  if (nodes_[at].ids.size() > 2 * leaf_size_) Split(at);
  return id;
}

void BallTreeIndex::Query(std::span<const float> q, float b, std::vector<uint32_t>* ids,
                          IndexStats* st) const {
  keys_.ValidateQuery("balltree Query", q, b);
  ids->clear();
  const size_t d = keys_.d();
  const double qn = NormUp(q.data(), d);
  Tree t;
  t.nodes = &nodes_;
  t.d = d;
  t.scale = keys_.scale();
  Counters cnt;
  HWY_DYNAMIC_DISPATCH(BallTreeQueryT)(t, q.data(), b, qn, keys_.BoundsTrusted(qn),
                                       index_detail::ScoreRelErr(d),
                                       index_detail::ScoreAbsErr(d, keys_.scale()), ids, &cnt);
  if (st) {
    st->queries += 1;
    st->keys_bounded += cnt.nodes;  // node bounds evaluated
    st->candidates += cnt.rechecked;
    st->reported += ids->size();
    st->bytes_read += cnt.nodes * (d * sizeof(float) + 2 * sizeof(double)) +
                      cnt.rechecked * (d * sizeof(float) + sizeof(uint32_t)) +
                      cnt.bulk * sizeof(uint32_t);
  }
}

}  // namespace hsr
#endif  // HWY_ONCE
