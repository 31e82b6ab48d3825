#include "sim/workload/io/npy.h"

#include <cstring>
#include <limits>
#include <optional>

#include "core/base/error.h"
#include "sim/workload/io/io_util.h"

namespace hsr::sim {
namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<size_t> shape;
};

// Parses the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (4, 2048, 64), }
// with exactly the keys descr, fortran_order and shape. Whitespace and a trailing comma are allowed.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view name) : s_(text), name_(name) {}

  NpyHeader Parse() {
    NpyHeader h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    SkipSpace();
    Expect('{', "'{' opening the header dict");
    for (;;) {
      SkipSpace();
      if (Peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = ParseString("a quoted key");
      SkipSpace();
      Expect(':', "':' after a key");
      SkipSpace();
      if (key == "descr") {
        Once(&seen_descr, key);
        if (Peek() == '[') {
          Fail("{}: expected dtype <f4 or <f2, got a structured dtype {}", name_, Rest());
        }
        h.descr = ParseString("a quoted dtype string");
      } else if (key == "fortran_order") {
        Once(&seen_fortran, key);
        h.fortran_order = ParseBool();
      } else if (key == "shape") {
        Once(&seen_shape, key);
        h.shape = ParseShape();
      } else {
        Fail("{}: malformed .npy header: expected keys descr, fortran_order, shape, got {}", name_,
             Quote(key));
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
      } else if (Peek() != '}') {
        Fail("{}: malformed .npy header: expected ',' or '}}' after a value, got {}", name_, Rest());
      }
    }
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("{}: malformed .npy header: expected only whitespace after the dict, got {}", name_,
           Rest());
    }
    if (!seen_descr || !seen_fortran || !seen_shape) {
      Fail("{}: malformed .npy header: expected keys descr, fortran_order and shape, missing {}",
           name_, !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
    }
    return h;
  }

 private:
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  std::string Rest() const {
    return pos_ < s_.size() ? Quote(s_.substr(pos_), 24) : std::string("end of header");
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void Expect(char c, std::string_view what) {
    if (Peek() != c || pos_ >= s_.size()) {
      Fail("{}: malformed .npy header: expected {} at offset {}, got {}", name_, what, pos_, Rest());
    }
    ++pos_;
  }
  void Once(bool* seen, const std::string& key) {
    if (*seen) Fail("{}: malformed .npy header: expected each key once, got {} twice", name_, Quote(key));
    *seen = true;
  }
  std::string ParseString(std::string_view what) {
    const char q = Peek();
    if (q != '\'' && q != '"') {
      Fail("{}: malformed .npy header: expected {} at offset {}, got {}", name_, what, pos_, Rest());
    }
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) {
      Fail("{}: malformed .npy header: expected a closing quote for {}, got {}", name_, what, Rest());
    }
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool ParseBool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    Fail("{}: malformed .npy header: expected fortran_order True or False, got {}", name_, Rest());
  }
  size_t ParseExtent(size_t index) {
    const size_t start = pos_;
    if (Peek() == '-' || Peek() == '+') ++pos_;
    const size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const bool negative = start < s_.size() && s_[start] == '-';
    const bool has_digits = pos_ > digits;
    const char next = Peek();
    if (!has_digits || next == '.' || next == 'e' || next == 'E' || next == 'j' ||
        (next >= 'a' && next <= 'z' && next != 'l') || (next >= 'A' && next <= 'Z' && next != 'L')) {
      while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ')') ++pos_;
      Fail("{}: expected a non-negative integer shape entry {}, got {}", name_, index,
           Quote(s_.substr(start, pos_ - start), 24));
    }
    if (negative) {
      Fail("{}: expected a non-negative integer shape entry {}, got {}", name_, index,
           s_.substr(start, pos_ - start));
    }
    size_t value = 0;
    for (size_t i = digits; i < pos_; ++i) {
      const size_t d = static_cast<size_t>(s_[i] - '0');
      if (value > (std::numeric_limits<size_t>::max() - d) / 10) {
        Fail("{}: expected shape entry {} to fit in size_t, got {}", name_, index,
             Quote(s_.substr(digits, pos_ - digits), 24));
      }
      value = value * 10 + d;
    }
    if (Peek() == 'L' || Peek() == 'l') ++pos_;  // Python 2 long suffix
    return value;
  }
  std::vector<size_t> ParseShape() {
    std::vector<size_t> shape;
    Expect('(', "'(' opening the shape tuple");
    for (;;) {
      SkipSpace();
      if (Peek() == ')') {
        ++pos_;
        return shape;
      }
      if (pos_ >= s_.size()) {
        Fail("{}: malformed .npy header: expected ')' closing the shape tuple, got end of header",
             name_);
      }
      if (shape.size() >= 64) {
        Fail("{}: expected at most 64 dimensions, got more in {}", name_, Rest());
      }
      shape.push_back(ParseExtent(shape.size()));
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
      } else if (Peek() != ')') {
        Fail("{}: malformed .npy header: expected ',' or ')' in the shape tuple, got {}", name_,
             Rest());
      }
    }
  }

  std::string_view s_;
  std::string_view name_;
  size_t pos_ = 0;
};

StoredType CheckDtype(const std::string& descr, std::string_view name) {
  if (descr == "<f4") return StoredType::kF32;
  if (descr == "<f2") return StoredType::kF16;
  if (descr == ">f4" || descr == ">f2") {
    Fail("{}: expected little-endian dtype <f4 or <f2, got big-endian {}", name, Quote(descr));
  }
  Fail("{}: expected dtype <f4 or <f2, got {}", name, Quote(descr));
}

}  // namespace

NpyArray ParseNpy(std::span<const uint8_t> bytes, std::string_view name) {
  const size_t have = bytes.size();
  const size_t magic_len = have < 6 ? have : 6;
  if (have == 0 || std::memcmp(bytes.data(), kMagic, magic_len) != 0) {
    Fail("{}: expected .npy magic '\\x93NUMPY', got {}", name,
         Quote(std::string_view(reinterpret_cast<const char*>(bytes.data()), magic_len)));
  }
  if (have < 8) {
    Fail("{}: truncated header: expected at least 10 bytes (magic, version, length), got {}", name,
         have);
  }
  const uint8_t major = bytes[6], minor = bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    Fail("{}: expected .npy version 1.0, 2.0 or 3.0, got {}.{}", name, major, minor);
  }
  const size_t prefix = major == 1 ? 10 : 12;
  if (have < prefix) {
    Fail("{}: truncated header: expected at least {} bytes for a version {}.0 prefix, got {}",
         name, prefix, major, have);
  }
  const size_t header_len = major == 1 ? LoadLE16(&bytes[8]) : LoadLE32(&bytes[8]);
  if (header_len > kMaxNpyHeaderBytes) {
    Fail("{}: oversized header: expected at most {} bytes, got {}", name, kMaxNpyHeaderBytes,
         header_len);
  }
  if (have - prefix < header_len) {
    Fail("{}: truncated header: expected {} header bytes, got {}", name, header_len, have - prefix);
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  const NpyHeader h = HeaderParser(text, name).Parse();
  if (h.fortran_order) {
    Fail("{}: expected fortran_order False (C order), got True", name);
  }
  const StoredType type = CheckDtype(h.descr, name);

  size_t elements = 0, need = 0;
  if (!ShapeBytes(h.shape, StoredSize(type), &elements, &need)) {
    Fail("{}: expected a shape whose byte size fits in size_t, got {} of {}", name,
         ShapeString(h.shape), h.descr);
  }
  const size_t data_bytes = have - prefix - header_len;
  if (data_bytes < need) {
    Fail("{}: truncated data: expected {} bytes for shape {} of {}, got {}", name, need,
         ShapeString(h.shape), h.descr, data_bytes);
  }
  if (data_bytes > need) {
    Fail("{}: trailing garbage: expected {} bytes for shape {} of {}, got {}", name, need,
         ShapeString(h.shape), h.descr, data_bytes);
  }
  NpyArray out;
  out.shape = h.shape;
  out.dtype = h.descr;
  out.data.resize(elements);
  DecodeFloats(type, bytes.data() + prefix + header_len, elements, out.data.data());
  return out;
}

NpyArray ReadNpy(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path, "ReadNpy");
  return ParseNpy(bytes, path);
}

void WriteNpy(const std::string& path, const std::vector<size_t>& shape,
              std::span<const float> data) {
  size_t elements = 0, bytes = 0;
  if (!ShapeBytes(shape, sizeof(float), &elements, &bytes)) {
    Fail("WriteNpy {}: expected a shape whose byte size fits in size_t, got {}", path,
         ShapeString(shape));
  }
  if (elements != data.size()) {
    Fail("WriteNpy {}: expected {} floats for shape {}, got {}", path, elements,
         ShapeString(shape), data.size());
  }
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (i + 1 < shape.size() || shape.size() == 1) dict += shape.size() == 1 ? "," : ", ";
  }
  dict += "), }";
  // Pad with spaces and a final '\n' so that the data starts at a multiple of 64 bytes.
  size_t prefix = 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xFFFF) {
    prefix = 12;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  const size_t header_len = total - prefix;
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';

  std::vector<uint8_t> out;
  out.reserve(total + bytes);
  out.insert(out.end(), kMagic, kMagic + 6);
  out.push_back(prefix == 10 ? 1 : 2);
  out.push_back(0);
  for (size_t i = 0; i < prefix - 8; ++i) out.push_back(static_cast<uint8_t>(header_len >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  out.insert(out.end(), p, p + bytes);
  WriteFileAtomic(path, out, "WriteNpy");
}

}  // namespace hsr::sim
