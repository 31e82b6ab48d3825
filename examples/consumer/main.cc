// Calls the installed hsr library: dense softmax decode for one query, checked against the
// float64 reference, so a broken install fails loudly.
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/attention/dense_hwy.h"
#include "core/attention/dense_ref.h"
#include "core/tensor/tensor.h"

int main() {
  const size_t n = 1000, d = 64;
  hsr::Tensor q(1, 1, d), k(1, n, d), v(1, n, d), out(1, 1, d);
  for (size_t i = 0; i < d; ++i) q.data()[i] = std::sin(0.1f * static_cast<float>(i));
  for (size_t i = 0; i < n * d; ++i) {
    k.data()[i] = std::cos(0.37f * static_cast<float>(i));
    v.data()[i] = std::sin(0.11f * static_cast<float>(i));
  }
  const hsr::KvCache kv(k.Heads(), v.Heads());
  hsr::AttentionParams p;  // softmax, scale 1/sqrt(d)
  hsr::DenseHwyBackend backend(/*threads=*/2);
  backend.Decode(q.Heads(), kv, p, out.Heads(), nullptr);
  std::vector<double> ref;
  hsr::DenseRefAttention(q.Heads(), kv, p, &ref, nullptr);
  double err = 0;
  for (size_t c = 0; c < d; ++c) err = std::fmax(err, std::fabs(out.data()[c] - ref[c]));
  std::printf("hsr consumer: dense-hwy decode n=%zu d=%zu, max |err| vs dense-ref = %.3g\n", n, d,
              err);
  return err < 1e-5 ? 0 : 1;
}
