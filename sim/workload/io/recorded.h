// Recorded attention inputs (Q, K, V of a real model) as hsr Tensors [H, n, d].
//
// Sources (the workload SPEC forms of docs/design.md §4):
//   npy:DIR[,layer=L,head=H]   a folder with manifest.json and layerLL_{q,k,v}.npy: q
//                              [heads, n, head_dim], k and v [kv_heads, n, head_dim], float32
//                              or float16 (sim/workload/data/README.md describes the format)
//   npz:FILE[,head=H]          an .npz with arrays q, k, v (also npy:FILE.npz)
//   safetensors:FILE[,q=NAME,k=NAME,v=NAME,head=H]   tensors q, k, v unless renamed
// In single files q is [Hq, m, d] or [m, d], k is [Hkv, n, d], v is [Hkv, n, dv], Hq a multiple
// of Hkv (grouped-query attention); scale defaults to 1/sqrt(d) unless the file carries one (an
// npz array "scale", safetensors __metadata__ "scale"), causal to true (npz array "causal",
// metadata "causal": "true"/"false"; anything else is an error). Values are returned as stored: NaN/Inf are the caller's
// check. Every malformed input throws a one-line hsr::Error. Tests: recorded_test.cc; the manifest
// parser is fuzzed by fuzz/manifest_fuzz.cc.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor/tensor.h"

namespace hsr::sim {

// manifest.json of a recorded folder, validated. Required: n, heads, head_dim, layers, files,
// scale, causal (a boolean: the mask the recording was made with); optional: kv_heads (default
// heads, must divide it), dtype, source.
struct RecordedManifest {
  size_t heads = 0, kv_heads = 0, head_dim = 0, n = 0;
  std::vector<size_t> layers;                          // as listed, non-empty, unique
  std::map<size_t, std::array<std::string, 3>> files;  // layer -> q, k, v file names (no '/')
  float scale = 0;                                     // finite, > 0
  bool causal = true;                                  // "causal" (required)
  std::string dtype;                                   // "float32", "float16" or "" (not given)
  std::string source;                                  // "source" (or ""), for descriptions
};

// Parses and validates manifest text; `name` prefixes every error message.
RecordedManifest ParseManifest(std::string_view json_text, std::string_view name);

struct RecordedHeads {
  hsr::Tensor q, k, v;          // [H, m, d], [Hkv, n, d], [Hkv, n, dv]; H = 1 when head is set
  size_t layer = 0;             // recorded layer (0 for single files)
  std::optional<size_t> head;   // the one head selected, or all heads
  float scale = 0;              // score scale (recorded folders: manifest "scale")
  bool causal = true;
  std::string description;      // one line, copied into report rows
};

// Loads a recorded folder; layer defaults to the first listed, head to all heads.
RecordedHeads LoadRecordedDir(const std::string& dir, std::optional<size_t> layer = std::nullopt,
                              std::optional<size_t> head = std::nullopt);

// Loads q, k, v from an .npz file.
RecordedHeads LoadRecordedNpz(const std::string& path, std::optional<size_t> head = std::nullopt);

// Loads tensors names[0], names[1], names[2] (q, k, v) from a safetensors file.
RecordedHeads LoadRecordedSafetensors(const std::string& path,
                                      const std::array<std::string, 3>& names = {"q", "k", "v"},
                                      std::optional<size_t> head = std::nullopt);

// Loads from a SPEC string "npy:...", "npz:..." or "safetensors:..." (forms above).
RecordedHeads LoadRecorded(std::string_view spec);

}  // namespace hsr::sim
