#include "core/attention/params.h"

#include "core/base/error.h"

namespace hsr {

std::string_view ToString(AttentionKind kind) {
  return kind == AttentionKind::kSoftmax ? "softmax" : "relu";
}

AttentionKind ParseAttentionKind(std::string_view name) {
  if (name == "softmax") return AttentionKind::kSoftmax;
  if (name == "relu") return AttentionKind::kRelu;
  Fail("attention: expected 'softmax' or 'relu', got '{}'", name);
}

}  // namespace hsr
