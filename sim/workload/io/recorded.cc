#include "sim/workload/io/recorded.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "sim/workload/io/io_util.h"
#include "sim/workload/io/npy.h"
#include "sim/workload/io/npz.h"
#include "sim/workload/io/safetensors.h"

namespace hsr::sim {
namespace {

using nlohmann::json;

// Largest extent accepted from a manifest (keeps heads * n * head_dim products far from overflow;
// the .npy files must match anyway).
constexpr uint64_t kMaxExtent = uint64_t{1} << 31;

size_t PositiveField(const json& j, const char* key, std::string_view name) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() == 0 ||
      it->get<uint64_t>() > kMaxExtent) {
    Fail("{}: expected \"{}\" to be an integer in [1, {}], got {}", name, key, kMaxExtent,
         it == j.end() ? std::string("none") : Quote(it->dump(), 32));
  }
  return static_cast<size_t>(it->get<uint64_t>());
}

std::string OptionalString(const json& j, const char* key, std::string_view name) {
  const auto it = j.find(key);
  if (it == j.end()) return "";
  if (!it->is_string()) {
    Fail("{}: expected \"{}\" to be a string, got JSON {}", name, key, it->type_name());
  }
  return it->get<std::string>();
}

bool IsBareFileName(const std::string& f) {
  return !f.empty() && f != "." && f != ".." && f.find('/') == std::string::npos &&
         f.find('\\') == std::string::npos && f.find('\0') == std::string::npos;
}

std::string HeadText(std::optional<size_t> head) {
  return head ? std::to_string(*head) : std::string("all");
}

// Copies head `h` (or all heads) of a [H, n, d] array into a Tensor.
// (A flag and an index rather than std::optional: g++ 12 -Wmaybe-uninitialized misfires on it.)
hsr::Tensor ToTensor(const NpyArray& a, size_t heads, size_t rows, size_t cols, bool one_head,
                     size_t head) {
  hsr::Tensor t(one_head ? 1 : heads, rows, cols);
  const size_t per_head = rows * cols;
  const float* src = a.data.data() + (one_head ? head * per_head : 0);
  if (t.size() != 0) std::memcpy(t.data(), src, t.size() * sizeof(float));
  return t;
}

// [m, d] -> [1, m, d]; [H, m, d] stays. Anything else is an error.
std::array<size_t, 3> As3d(const NpyArray& a, std::string_view what, std::string_view name) {
  if (a.shape.size() == 2) return {1, a.shape[0], a.shape[1]};
  if (a.shape.size() == 3) return {a.shape[0], a.shape[1], a.shape[2]};
  Fail("{}: expected {} shaped [heads, n, d] or [n, d], got {}", name, what, ShapeString(a.shape));
}

// Checks single-file q, k, v shapes and selects heads.
RecordedHeads FromArrays(const NpyArray& q, const NpyArray& k, const NpyArray& v,
                         const std::array<std::string, 3>& names, std::optional<size_t> head,
                         std::string_view name) {
  const auto qs = As3d(q, Quote(names[0]), name);
  const auto ks = As3d(k, Quote(names[1]), name);
  const auto vs = As3d(v, Quote(names[2]), name);
  if (ks[0] != vs[0] || ks[1] != vs[1]) {
    Fail("{}: expected k and v with the same [heads, n], got k {} and v {}", name,
         ShapeString(k.shape), ShapeString(v.shape));
  }
  if (qs[2] != ks[2]) {
    Fail("{}: expected q and k with the same head dim d, got q {} and k {}", name,
         ShapeString(q.shape), ShapeString(k.shape));
  }
  if (ks[0] == 0 || qs[0] % ks[0] != 0) {
    Fail("{}: expected q heads to be a multiple of k/v heads (grouped-query attention), got q {} "
         "and k {}",
         name, ShapeString(q.shape), ShapeString(k.shape));
  }
  if (head && *head >= qs[0]) {
    Fail("{}: expected head < {} (q heads), got head={}", name, qs[0], *head);
  }
  RecordedHeads r;
  const size_t group = qs[0] / ks[0];
  const bool one = head.has_value();
  const size_t h = head.value_or(0);
  r.q = ToTensor(q, qs[0], qs[1], qs[2], one, h);
  r.k = ToTensor(k, ks[0], ks[1], ks[2], one, h / group);
  r.v = ToTensor(v, vs[0], vs[1], vs[2], one, h / group);
  r.head = head;
  r.scale = qs[2] == 0 ? 1.0f : static_cast<float>(1.0 / std::sqrt(static_cast<double>(qs[2])));
  return r;
}

float CheckScale(double s, std::string_view where, std::string_view name) {
  if (!std::isfinite(s) || s <= 0 || s > 3.0e38) {
    Fail("{}: expected a finite positive {}, got {}", name, where, s);
  }
  return static_cast<float>(s);
}

size_t ParseIndex(std::string_view key, std::string_view text, std::string_view spec) {
  size_t v = 0;
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    Fail("workload {}: expected {}=<non-negative integer>, got {}", Quote(spec, 200), key,
         Quote(text));
  }
  for (const char c : text) v = v * 10 + static_cast<size_t>(c - '0');
  return v;
}

}  // namespace

RecordedManifest ParseManifest(std::string_view json_text, std::string_view name) {
  json j;
  try {
    j = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    Fail("{}: expected manifest JSON, got {}", name, Quote(e.what(), 200));
  }
  if (!j.is_object()) Fail("{}: expected a JSON object, got JSON {}", name, j.type_name());
  RecordedManifest m;
  m.heads = PositiveField(j, "heads", name);
  m.head_dim = PositiveField(j, "head_dim", name);
  m.n = PositiveField(j, "n", name);
  m.kv_heads = j.contains("kv_heads") ? PositiveField(j, "kv_heads", name) : m.heads;
  if (m.heads % m.kv_heads != 0) {
    Fail("{}: expected \"kv_heads\" to divide \"heads\"={} (grouped-query attention), got {}",
         name, m.heads, m.kv_heads);
  }

  const auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array() || layers->empty()) {
    Fail("{}: expected \"layers\" to be a non-empty array of layer numbers, got {}", name,
         layers == j.end() ? std::string("none") : Quote(layers->dump(), 32));
  }
  for (const json& l : *layers) {
    if (!l.is_number_unsigned() || l.get<uint64_t>() > 9999) {
      Fail("{}: expected \"layers\" entries to be integers in [0, 9999], got {}", name,
           Quote(l.dump(), 32));
    }
    const size_t layer = static_cast<size_t>(l.get<uint64_t>());
    if (std::find(m.layers.begin(), m.layers.end(), layer) != m.layers.end()) {
      Fail("{}: expected unique \"layers\", got {} twice", name, layer);
    }
    m.layers.push_back(layer);
  }

  const auto files = j.find("files");
  if (files == j.end() || !files->is_object()) {
    Fail("{}: expected \"files\" to be an object {{\"layerLL\": [q, k, v]}}, got {}", name,
         files == j.end() ? "none" : files->type_name());
  }
  for (const size_t layer : m.layers) {
    const std::string key = fmt::format("layer{:02d}", layer);
    const auto f = files->find(key);
    if (f == files->end() || !f->is_array() || f->size() != 3) {
      Fail("{}: expected \"files\".\"{}\" to be [q, k, v] file names, got {}", name, key,
           f == files->end() ? std::string("none") : Quote(f->dump(), 48));
    }
    std::array<std::string, 3> names;
    for (size_t i = 0; i < 3; ++i) {
      if (!(*f)[i].is_string() || !IsBareFileName((*f)[i].get<std::string>())) {
        Fail("{}: expected \"files\".\"{}\"[{}] to be a file name in the folder (no '/'), got {}",
             name, key, i, Quote((*f)[i].dump(), 48));
      }
      names[i] = (*f)[i].get<std::string>();
    }
    m.files[layer] = names;
  }

  const auto scale = j.find("scale");
  if (scale == j.end() || !scale->is_number()) {
    Fail("{}: expected \"scale\" to be a number (usually 1/sqrt(head_dim)), got {}", name,
         scale == j.end() ? std::string("none") : Quote(scale->dump(), 32));
  }
  m.scale = CheckScale(scale->get<double>(), "\"scale\"", name);

  // The mask the recording was made with decides what every backend computes on it, so it is
  // never guessed.
  const auto causal = j.find("causal");
  if (causal == j.end() || !causal->is_boolean()) {
    Fail("{}: expected \"causal\" to be true or false (the mask the recording was made with), "
         "got {}",
         name, causal == j.end() ? std::string("none") : Quote(causal->dump(), 32));
  }
  m.causal = causal->get<bool>();
  m.dtype = OptionalString(j, "dtype", name);
  if (!m.dtype.empty() && m.dtype != "float32" && m.dtype != "float16") {
    Fail("{}: expected \"dtype\" float32 or float16, got {}", name, Quote(m.dtype));
  }
  m.source = OptionalString(j, "source", name);
  return m;
}

RecordedHeads LoadRecordedDir(const std::string& dir, std::optional<size_t> layer,
                              std::optional<size_t> head) {
  const std::filesystem::path root(dir);
  const std::string manifest_path = (root / "manifest.json").string();
  const std::vector<uint8_t> text = ReadFileBytes(manifest_path, "LoadRecordedDir");
  const RecordedManifest m = ParseManifest(
      std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), manifest_path);

  const size_t l = layer.value_or(m.layers.front());
  if (m.files.count(l) == 0) {
    Fail("{}: expected layer= one of [{}], got layer={}", manifest_path, fmt::join(m.layers, ", "),
         l);
  }
  if (head && *head >= m.heads) {
    Fail("{}: expected head < {} (heads), got head={}", manifest_path, m.heads, *head);
  }
  const std::string want_dtype = m.dtype == "float32" ? "<f4" : m.dtype == "float16" ? "<f2" : "";
  std::array<NpyArray, 3> arrays;
  for (size_t i = 0; i < 3; ++i) {
    const std::string path = (root / m.files.at(l)[i]).string();
    arrays[i] = ReadNpy(path);
    const std::vector<size_t> want = {i == 0 ? m.heads : m.kv_heads, m.n, m.head_dim};
    if (arrays[i].shape != want) {
      Fail("{}: expected shape {} ([{}, n, head_dim] from manifest.json), got {}", path,
           ShapeString(want), i == 0 ? "heads" : "kv_heads", ShapeString(arrays[i].shape));
    }
    if (!want_dtype.empty() && arrays[i].dtype != want_dtype) {
      Fail("{}: expected dtype {} (manifest.json says {}), got {}", path, want_dtype, m.dtype,
           arrays[i].dtype);
    }
  }
  RecordedHeads r;
  const size_t group = m.heads / m.kv_heads;
  r.q = ToTensor(arrays[0], m.heads, m.n, m.head_dim, head.has_value(), head.value_or(0));
  r.k = ToTensor(arrays[1], m.kv_heads, m.n, m.head_dim, head.has_value(),
                 head.value_or(0) / group);
  r.v = ToTensor(arrays[2], m.kv_heads, m.n, m.head_dim, head.has_value(),
                 head.value_or(0) / group);
  r.layer = l;
  r.head = head;
  r.scale = m.scale;
  r.causal = m.causal;
  r.description = fmt::format("npy:{} layer={} head={} heads={} n={} d={}",
                              root.filename().empty() ? dir : root.filename().string(), l,
                              HeadText(head), m.heads, m.n, m.head_dim);
  if (m.kv_heads != m.heads) r.description += fmt::format(" kv_heads={}", m.kv_heads);
  if (!m.dtype.empty()) r.description += " " + m.dtype;
  if (!m.source.empty()) r.description += " source=" + Quote(m.source, 32);
  return r;
}

RecordedHeads LoadRecordedNpz(const std::string& path, std::optional<size_t> head) {
  const std::map<std::string, NpyArray> arrays = ReadNpz(path);
  const std::array<std::string, 3> names = {"q", "k", "v"};
  for (const std::string& n : names) {
    if (arrays.count(n) == 0) {
      Fail("{}: expected arrays q, k, v in the .npz, got no {}", path, Quote(n));
    }
  }
  RecordedHeads r = FromArrays(arrays.at("q"), arrays.at("k"), arrays.at("v"), names, head, path);
  if (const auto s = arrays.find("scale"); s != arrays.end()) {
    if (s->second.data.size() != 1) {
      Fail("{}: expected array \"scale\" with one element, got shape {}", path,
           ShapeString(s->second.shape));
    }
    r.scale = CheckScale(s->second.data[0], "array \"scale\"", path);
  }
  if (const auto c = arrays.find("causal"); c != arrays.end()) {
    if (c->second.data.size() != 1) {
      Fail("{}: expected array \"causal\" with one element, got shape {}", path,
           ShapeString(c->second.shape));
    }
    const float flag = c->second.data[0];
    if (flag != 0.0f && flag != 1.0f) {
      Fail("{}: expected array \"causal\" to be 0 or 1 (false or true), got {}", path, flag);
    }
    r.causal = flag == 1.0f;
  }
  r.description = fmt::format("npz:{} head={} heads={} n={} d={} {}",
                              std::filesystem::path(path).filename().string(), HeadText(head),
                              arrays.at("q").shape.size() == 3 ? arrays.at("q").shape[0] : 1,
                              r.k.rows(), r.k.cols(), arrays.at("q").dtype);
  return r;
}

RecordedHeads LoadRecordedSafetensors(const std::string& path,
                                      const std::array<std::string, 3>& names,
                                      std::optional<size_t> head) {
  const SafetensorsFile f =
      ReadSafetensorsFile(path, std::vector<std::string>(names.begin(), names.end()));
  RecordedHeads r = FromArrays(f.tensors.at(names[0]), f.tensors.at(names[1]),
                               f.tensors.at(names[2]), names, head, path);
  if (const auto s = f.metadata.find("scale"); s != f.metadata.end()) {
    char* end = nullptr;
    const double v = std::strtod(s->second.c_str(), &end);
    if (end == s->second.c_str() || *end != '\0') {
      Fail("{}: expected __metadata__ \"scale\" to be a number, got {}", path, Quote(s->second));
    }
    r.scale = CheckScale(v, "__metadata__ \"scale\"", path);
  }
  if (const auto c = f.metadata.find("causal"); c != f.metadata.end()) {
    if (c->second != "true" && c->second != "false") {
      Fail("{}: expected __metadata__ \"causal\" true or false, got {}", path, Quote(c->second));
    }
    r.causal = c->second == "true";
  }
  const NpyArray& q = f.tensors.at(names[0]);
  r.description = fmt::format("safetensors:{} head={} heads={} n={} d={} {}",
                              std::filesystem::path(path).filename().string(), HeadText(head),
                              q.shape.size() == 3 ? q.shape[0] : 1, r.k.rows(), r.k.cols(),
                              q.dtype);
  return r;
}

RecordedHeads LoadRecorded(std::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    Fail("workload {}: expected npy:DIR, npz:FILE or safetensors:FILE, got no ':'", Quote(spec, 200));
  }
  const std::string_view kind = spec.substr(0, colon);
  std::string_view rest = spec.substr(colon + 1);
  const size_t comma = rest.find(',');
  const std::string path(rest.substr(0, comma));
  if (path.empty()) Fail("workload {}: expected a path after '{}:', got none", Quote(spec, 200), kind);
  std::optional<size_t> layer, head;
  std::array<std::string, 3> names = {"q", "k", "v"};
  const bool is_npy = kind == "npy", is_npz = kind == "npz", is_st = kind == "safetensors";
  if (!is_npy && !is_npz && !is_st) {
    Fail("workload {}: expected npy:, npz: or safetensors:, got {}", Quote(spec, 200), Quote(kind));
  }
  const bool npz_file = is_npz || (is_npy && path.size() > 4 &&
                                   path.compare(path.size() - 4, 4, ".npz") == 0);
  rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  while (!rest.empty()) {
    const size_t next = rest.find(',');
    const std::string_view item = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (key == "head") {
      head = ParseIndex(key, value, spec);
    } else if (key == "layer" && is_npy && !npz_file) {
      layer = ParseIndex(key, value, spec);
    } else if ((key == "q" || key == "k" || key == "v") && is_st && !value.empty()) {
      names[key == "q" ? 0 : key == "k" ? 1 : 2] = std::string(value);
    } else {
      Fail("workload {}: expected options {}, got {}", Quote(spec, 200),
           is_st ? "q=NAME, k=NAME, v=NAME, head=H" : npz_file ? "head=H" : "layer=L, head=H",
           Quote(item));
    }
  }
  if (is_st) return LoadRecordedSafetensors(path, names, head);
  if (npz_file) return LoadRecordedNpz(path, head);
  return LoadRecordedDir(path, layer, head);
}

}  // namespace hsr::sim
