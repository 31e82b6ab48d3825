#include "sim/workload/io/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/base/error.h"
#include "sim/workload/io/io_util.h"

namespace hsr::sim {
namespace {

using nlohmann::json;

struct Entry {
  std::string key;
  std::string dtype;
  std::vector<size_t> shape;
  uint64_t begin = 0, end = 0;
};

// Bytes per element of every dtype the format defines (0: unknown).
size_t ItemSize(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E5M2" ||
      dtype == "F8_E4M3") {
    return 1;
  }
  return 0;
}

std::optional<StoredType> Convertible(const std::string& dtype) {
  if (dtype == "F32") return StoredType::kF32;
  if (dtype == "F16") return StoredType::kF16;
  if (dtype == "BF16") return StoredType::kBF16;
  return std::nullopt;
}

Entry ParseEntry(const std::string& key, const json& val, uint64_t buffer_size,
                 std::string_view name) {
  const std::string tensor = Quote(key);
  if (!val.is_object()) {
    Fail("{}: tensor {}: expected an object with dtype, shape, data_offsets, got JSON {}", name,
         tensor, val.type_name());
  }
  Entry e;
  e.key = key;
  const auto dtype = val.find("dtype");
  if (dtype == val.end() || !dtype->is_string()) {
    Fail("{}: tensor {}: expected a string \"dtype\", got {}", name, tensor,
         dtype == val.end() ? "none" : dtype->type_name());
  }
  e.dtype = dtype->get<std::string>();
  const auto shape = val.find("shape");
  if (shape == val.end() || !shape->is_array()) {
    Fail("{}: tensor {}: expected an array \"shape\", got {}", name, tensor,
         shape == val.end() ? "none" : shape->type_name());
  }
  for (const json& s : *shape) {
    if (!s.is_number_unsigned()) {
      Fail("{}: tensor {}: expected non-negative integer shape entries, got {}", name, tensor,
           Quote(s.dump(), 24));
    }
    e.shape.push_back(static_cast<size_t>(s.get<uint64_t>()));
  }
  const auto offsets = val.find("data_offsets");
  if (offsets == val.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    Fail("{}: tensor {}: expected \"data_offsets\" [begin, end] of non-negative integers, got {}",
         name, tensor, offsets == val.end() ? std::string("none") : Quote(offsets->dump(), 32));
  }
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  if (e.begin > e.end) {
    Fail("{}: tensor {}: expected data_offsets begin <= end, got [{}, {}]", name, tensor, e.begin,
         e.end);
  }
  if (e.end > buffer_size) {
    Fail("{}: tensor {}: expected data_offsets within the {}-byte buffer, got [{}, {}]", name,
         tensor, buffer_size, e.begin, e.end);
  }
  const size_t item = ItemSize(e.dtype);
  if (item != 0) {
    size_t elements = 0, bytes = 0;
    if (!ShapeBytes(e.shape, item, &elements, &bytes)) {
      Fail("{}: tensor {}: expected a shape whose byte size fits in size_t, got {} of {}", name,
           tensor, ShapeString(e.shape), e.dtype);
    }
    if (bytes != e.end - e.begin) {
      Fail("{}: tensor {}: expected {} bytes for shape {} of {}, got data_offsets [{}, {}] ({} "
           "bytes)",
           name, tensor, bytes, ShapeString(e.shape), e.dtype, e.begin, e.end, e.end - e.begin);
    }
  }
  return e;
}

}  // namespace

SafetensorsFile ParseSafetensors(std::span<const uint8_t> bytes, std::string_view name,
                                 const std::vector<std::string>& names) {
  if (bytes.size() < 8) {
    Fail("{}: expected at least 8 bytes (safetensors header length), got {}", name, bytes.size());
  }
  const uint64_t header_len = LoadLE64(bytes.data());
  if (header_len > kMaxSafetensorsHeaderBytes) {
    Fail("{}: oversized header: expected a safetensors header of at most {} bytes, got {}", name,
         kMaxSafetensorsHeaderBytes, header_len);
  }
  if (header_len > bytes.size() - 8) {
    Fail("{}: truncated header: expected a header length within the file ({} bytes after the "
         "length), got {}",
         name, bytes.size() - 8, header_len);
  }
  const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
  json header;
  try {
    header = json::parse(text, text + header_len);
  } catch (const json::exception& e) {
    Fail("{}: expected a JSON header, got {}", name, Quote(e.what(), 200));
  }
  if (!header.is_object()) {
    Fail("{}: expected a JSON object header, got JSON {}", name, header.type_name());
  }
  const std::span<const uint8_t> buffer = bytes.subspan(8 + header_len);

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [key, val] : header.items()) {
    if (key == "__metadata__") {
      if (!val.is_object()) {
        Fail("{}: expected \"__metadata__\" to be an object, got JSON {}", name, val.type_name());
      }
      for (const auto& [mk, mv] : val.items()) {
        if (mv.is_string()) out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(ParseEntry(key, val, buffer.size(), name));
  }
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& a = *by_offset[i - 1];
    const Entry& b = *by_offset[i];
    if (b.begin < a.end) {
      Fail("{}: expected non-overlapping tensors, got {} [{}, {}] overlapping {} [{}, {}]", name,
           Quote(a.key), a.begin, a.end, Quote(b.key), b.begin, b.end);
    }
  }

  std::vector<const Entry*> wanted;
  if (names.empty()) {
    for (const Entry& e : entries) wanted.push_back(&e);
  } else {
    for (const std::string& want : names) {
      const auto it = std::find_if(entries.begin(), entries.end(),
                                   [&](const Entry& e) { return e.key == want; });
      if (it == entries.end()) {
        std::string have;
        for (size_t i = 0; i < entries.size() && i < 8; ++i) {
          have += (i ? ", " : "") + Quote(entries[i].key, 32);
        }
        if (entries.size() > 8) have += fmt::format(", ... ({} in all)", entries.size());
        Fail("{}: expected a tensor named {}, got {}", name, Quote(want),
             entries.empty() ? std::string("no tensors") : have);
      }
      wanted.push_back(&*it);
    }
  }
  for (const Entry* e : wanted) {
    const std::optional<StoredType> type = Convertible(e->dtype);
    if (!type) {
      Fail("{}: tensor {}: expected dtype F32, F16 or BF16, got {}", name, Quote(e->key),
           Quote(e->dtype, 24));
    }
    NpyArray a;
    a.shape = e->shape;
    a.dtype = e->dtype;
    a.data.resize((e->end - e->begin) / StoredSize(*type));
    DecodeFloats(*type, buffer.data() + e->begin, a.data.size(), a.data.data());
    out.tensors[e->key] = std::move(a);
  }
  return out;
}

SafetensorsFile ReadSafetensorsFile(const std::string& path,
                                    const std::vector<std::string>& names) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path, "ReadSafetensors");
  return ParseSafetensors(bytes, path, names);
}

std::map<std::string, NpyArray> ReadSafetensors(const std::string& path,
                                                const std::vector<std::string>& names) {
  return ReadSafetensorsFile(path, names).tensors;
}

}  // namespace hsr::sim
