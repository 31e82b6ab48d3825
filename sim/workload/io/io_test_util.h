// Test helpers for sim/workload/io: byte builders for .npy / zip / safetensors inputs and a check
// that a call throws a one-line hsr::Error containing "expected" and a given fragment.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.h"
#include "sim/workload/io/io_util.h"

namespace hsr::sim::testing {

using Bytes = std::vector<uint8_t>;

inline void Append(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void Put16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, v & 0xFFFF);
  Put16(b, v >> 16);
}
inline void Put64(Bytes& b, uint64_t v) {
  Put32(b, static_cast<uint32_t>(v));
  Put32(b, static_cast<uint32_t>(v >> 32));
}
inline Bytes FloatBytes(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// .npy bytes: magic, version major.0, header text (padded with '\n' when pad), then data.
inline Bytes MakeNpy(std::string_view header, const Bytes& data, int major = 1, bool pad = true) {
  std::string h(header);
  const size_t prefix = major == 1 ? 10 : 12;
  if (pad) {
    while ((prefix + h.size() + 1) % 64 != 0) h += ' ';
    h += '\n';
  }
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  if (major == 1) {
    Put16(b, static_cast<uint32_t>(h.size()));
  } else {
    Put32(b, static_cast<uint32_t>(h.size()));
  }
  Append(b, h);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

inline std::string Dict(std::string_view descr, std::string_view shape,
                        std::string_view fortran = "False") {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + std::string(fortran) +
         ", 'shape': " + std::string(shape) + ", }";
}

struct ZipMember {
  std::string name;
  Bytes data;  // stored as is (method 0) unless `method` says otherwise (data is then raw)
  uint16_t method = 0;
  uint32_t crc = 0;  // 0: computed from data
  uint32_t usize = 0xFFFFFFFFu;  // default: data.size()
};

// A zip archive (stored members) with local headers, central directory and end record.
inline Bytes MakeZip(const std::vector<ZipMember>& members) {
  Bytes b, cd;
  for (const ZipMember& m : members) {
    const uint32_t crc = m.crc ? m.crc : Crc32(m.data);
    const uint32_t usize = m.usize != 0xFFFFFFFFu ? m.usize : static_cast<uint32_t>(m.data.size());
    const uint32_t offset = static_cast<uint32_t>(b.size());
    Put32(b, 0x04034b50); Put16(b, 20); Put16(b, 0); Put16(b, m.method); Put16(b, 0); Put16(b, 0);
    Put32(b, crc); Put32(b, static_cast<uint32_t>(m.data.size())); Put32(b, usize);
    Put16(b, static_cast<uint32_t>(m.name.size())); Put16(b, 0);
    Append(b, m.name);
    b.insert(b.end(), m.data.begin(), m.data.end());
    Put32(cd, 0x02014b50); Put16(cd, 20); Put16(cd, 20); Put16(cd, 0); Put16(cd, m.method);
    Put16(cd, 0); Put16(cd, 0); Put32(cd, crc); Put32(cd, static_cast<uint32_t>(m.data.size()));
    Put32(cd, usize); Put16(cd, static_cast<uint32_t>(m.name.size())); Put16(cd, 0); Put16(cd, 0);
    Put16(cd, 0); Put16(cd, 0); Put32(cd, 0); Put32(cd, offset);
    Append(cd, m.name);
  }
  const uint32_t cd_offset = static_cast<uint32_t>(b.size());
  b.insert(b.end(), cd.begin(), cd.end());
  Put32(b, 0x06054b50); Put16(b, 0); Put16(b, 0);
  Put16(b, static_cast<uint32_t>(members.size())); Put16(b, static_cast<uint32_t>(members.size()));
  Put32(b, static_cast<uint32_t>(cd.size())); Put32(b, cd_offset); Put16(b, 0);
  return b;
}

// safetensors bytes: header length, header text, buffer.
inline Bytes MakeSafetensors(std::string_view header, const Bytes& buffer) {
  Bytes b;
  Put64(b, header.size());
  Append(b, header);
  b.insert(b.end(), buffer.begin(), buffer.end());
  return b;
}

// Runs fn; expects an hsr::Error whose message is one line, contains "expected" and `fragment`.
template <typename Fn>
void ExpectError(Fn&& fn, std::string_view fragment) {
  try {
    fn();
  } catch (const hsr::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << "no 'expected': " << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "no '" << fragment << "': " << msg;
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected hsr::Error containing '" << fragment << "', got another exception: "
                  << e.what();
    return;
  }
  ADD_FAILURE() << "expected hsr::Error containing '" << fragment << "', got no exception";
}

// A fresh empty folder under the test temp dir, removed by the caller's choice.
inline std::filesystem::path TempDir(std::string_view name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("hsr_io_test_" + std::string(name) + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace hsr::sim::testing
