#include "sim/workload/io/npz.h"

#include <algorithm>
#include <vector>

#include "core/base/error.h"
#include "sim/workload/io/io_util.h"

#ifndef HSR_HAVE_ZLIB
#define HSR_HAVE_ZLIB 0
#endif
#if HSR_HAVE_ZLIB
#include <zlib.h>
#endif

namespace hsr::sim {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22, kZip64LocatorSize = 20;
// Deflate cannot expand data more than ~1032:1; a larger claimed ratio is a corrupt header (and
// would otherwise let a tiny file request a huge allocation).
constexpr uint64_t kMaxDeflateRatio = 1032;

struct Member {
  std::string filename;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

std::string_view Text(std::span<const uint8_t> b, size_t off, size_t len) {
  return {reinterpret_cast<const char*>(b.data()) + off, len};
}

size_t FindEnd(std::span<const uint8_t> b, std::string_view name) {
  if (b.size() < kEndSize) {
    Fail("{}: expected a zip archive of at least {} bytes (end of central directory), got {}",
         name, kEndSize, b.size());
  }
  // The record sits at the end, followed by a comment of at most 65535 bytes.
  const size_t lowest = b.size() - kEndSize > 0xFFFF ? b.size() - kEndSize - 0xFFFF : 0;
  for (size_t pos = b.size() - kEndSize + 1; pos-- > lowest;) {
    if (LoadLE32(&b[pos]) == kEndSig && pos + kEndSize + LoadLE16(&b[pos + 20]) == b.size()) {
      return pos;
    }
  }
  Fail("{}: expected a zip end-of-central-directory record (PK\\x05\\x06) in the last {} bytes, "
       "got none (not an .npz, or truncated)",
       name, b.size() - lowest);
}

std::vector<uint8_t> Inflate(std::span<const uint8_t> in, uint64_t out_size, std::string_view name,
                             const std::string& member) {
#if HSR_HAVE_ZLIB
  std::vector<uint8_t> out(out_size);
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
    Fail("{}: member {}: expected zlib to initialize, got an error", name, Quote(member));
  }
  // Feed in chunks of at most uInt's range (always true here: members are < 4 GiB).
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  const uint64_t produced = zs.total_out;
  const uint64_t consumed = zs.total_in;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != out_size || consumed != in.size()) {
    Fail("{}: member {}: expected a deflate stream of {} bytes decoding to {} bytes, got {} "
         "(zlib status {}, {} bytes decoded, {} consumed)",
         name, Quote(member), in.size(), out_size,
         rc == Z_STREAM_END ? "trailing or missing data" : "a corrupt stream", rc, produced,
         consumed);
  }
  return out;
#else
  (void)in;
  (void)out_size;
  Fail("{}: member {} is deflated (np.savez_compressed): expected a build with zlib "
       "(install zlib1g-dev and reconfigure), got a build without it; or re-save with np.savez",
       name, Quote(member));
#endif
}

}  // namespace

bool NpzSupportsDeflate() { return HSR_HAVE_ZLIB != 0; }

std::map<std::string, NpyArray> ParseNpz(std::span<const uint8_t> b, std::string_view name) {
  const size_t end = FindEnd(b, name);
  if (end >= kZip64LocatorSize && LoadLE32(&b[end - kZip64LocatorSize]) == kZip64LocatorSig) {
    Fail("{}: expected a plain zip archive, got Zip64 (archive or member over 4 GiB): "
         "not supported",
         name);
  }
  const uint16_t disk = LoadLE16(&b[end + 4]), cd_disk = LoadLE16(&b[end + 6]);
  const uint16_t disk_entries = LoadLE16(&b[end + 8]), entries = LoadLE16(&b[end + 10]);
  const uint32_t cd_size = LoadLE32(&b[end + 12]), cd_offset = LoadLE32(&b[end + 16]);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    Fail("{}: expected a plain zip archive, got Zip64 markers in the end record: not supported",
         name);
  }
  if (disk != 0 || cd_disk != 0 || disk_entries != entries) {
    Fail("{}: expected a single-disk zip archive, got disk {} of a multi-disk set", name, disk);
  }
  if (cd_offset > end || cd_size > end - cd_offset) {
    Fail("{}: expected the central directory inside the file (ending by offset {}), got offset {} "
         "size {}",
         name, end, cd_offset, cd_size);
  }

  std::vector<Member> members;
  size_t pos = cd_offset;
  const size_t cd_end = size_t{cd_offset} + cd_size;
  for (uint32_t i = 0; i < entries; ++i) {
    if (cd_end - pos < kCentralSize || LoadLE32(&b[pos]) != kCentralSig) {
      Fail("{}: central directory entry {}: expected signature PK\\x01\\x02 within the directory "
           "at offset {}, got {}",
           name, i, pos, cd_end - pos < 4 ? std::string("end of directory") : Quote(Text(b, pos, 4)));
    }
    Member m;
    m.flags = LoadLE16(&b[pos + 8]);
    m.method = LoadLE16(&b[pos + 10]);
    m.crc = LoadLE32(&b[pos + 16]);
    m.compressed = LoadLE32(&b[pos + 20]);
    m.uncompressed = LoadLE32(&b[pos + 24]);
    const size_t name_len = LoadLE16(&b[pos + 28]), extra_len = LoadLE16(&b[pos + 30]),
                 comment_len = LoadLE16(&b[pos + 32]);
    m.local_offset = LoadLE32(&b[pos + 42]);
    const size_t entry_len = kCentralSize + name_len + extra_len + comment_len;
    if (cd_end - pos < entry_len) {
      Fail("{}: central directory entry {}: expected {} bytes within the directory, got {}", name,
           i, entry_len, cd_end - pos);
    }
    m.filename = std::string(Text(b, pos + kCentralSize, name_len));
    if (m.compressed == 0xFFFFFFFFu || m.uncompressed == 0xFFFFFFFFu ||
        m.local_offset == 0xFFFFFFFFu) {
      Fail("{}: member {}: expected plain zip sizes, got Zip64 (member over 4 GiB): not supported",
           name, Quote(m.filename));
    }
    members.push_back(std::move(m));
    pos += entry_len;
  }

  std::map<std::string, NpyArray> out;
  for (const Member& m : members) {
    const std::string& fn = m.filename;
    if (m.flags & 0x1) {
      Fail("{}: member {}: expected an unencrypted member, got encryption flag", name, Quote(fn));
    }
    if (m.method != 0 && m.method != 8) {
      Fail("{}: member {}: expected compression method 0 (stored) or 8 (deflate), got {}", name,
           Quote(fn), m.method);
    }
    if (fn.size() < 5 || fn.compare(fn.size() - 4, 4, ".npy") != 0) {
      Fail("{}: member {}: expected a .npy member name, got another file", name, Quote(fn));
    }
    const std::string key = fn.substr(0, fn.size() - 4);
    if (out.count(key) != 0) {
      Fail("{}: member {}: expected unique member names, got a duplicate", name, Quote(fn));
    }
    // Local header: must agree with the central directory.
    const uint64_t lo = m.local_offset;
    if (lo > cd_offset || cd_offset - lo < kLocalSize || LoadLE32(&b[lo]) != kLocalSig) {
      Fail("{}: member {}: expected a local header (PK\\x03\\x04) at offset {} before the "
           "central directory at {}, got none",
           name, Quote(fn), lo, cd_offset);
    }
    const uint16_t l_flags = LoadLE16(&b[lo + 6]), l_method = LoadLE16(&b[lo + 8]);
    const uint32_t l_crc = LoadLE32(&b[lo + 14]);
    const uint32_t l_csize = LoadLE32(&b[lo + 18]), l_usize = LoadLE32(&b[lo + 22]);
    const size_t l_name_len = LoadLE16(&b[lo + 26]), l_extra_len = LoadLE16(&b[lo + 28]);
    const uint64_t data_start = lo + kLocalSize + l_name_len + l_extra_len;
    if (data_start > cd_offset) {
      Fail("{}: member {}: expected the local header to end before the central directory at {}, "
           "got end {}",
           name, Quote(fn), cd_offset, data_start);
    }
    if (Text(b, lo + kLocalSize, l_name_len) != fn || l_method != m.method) {
      Fail("{}: member {}: expected the local header to match the central directory (name, "
           "method {}), got {} method {}",
           name, Quote(fn), m.method, Quote(Text(b, lo + kLocalSize, l_name_len)), l_method);
    }
    const bool descriptor = (l_flags & 0x8) != 0;  // sizes and CRC may follow the data
    if (!descriptor) {
      uint64_t csize = l_csize, usize = l_usize;
      if (l_csize == 0xFFFFFFFFu || l_usize == 0xFFFFFFFFu) {
        // numpy forces a zip64 extra field (id 1: usize, csize) in local headers.
        bool found = false;
        size_t e = lo + kLocalSize + l_name_len;
        const size_t e_end = e + l_extra_len;
        while (e_end - e >= 4) {
          const uint16_t id = LoadLE16(&b[e]), len = LoadLE16(&b[e + 2]);
          if (len > e_end - e - 4) break;
          if (id == 1 && len >= 16) {
            usize = LoadLE64(&b[e + 4]);
            csize = LoadLE64(&b[e + 12]);
            found = true;
          }
          e += 4 + size_t{len};
        }
        if (!found) {
          Fail("{}: member {}: expected a zip64 extra field with sizes in the local header, got "
               "none",
               name, Quote(fn));
        }
      }
      if (csize != m.compressed || usize != m.uncompressed || l_crc != m.crc) {
        Fail("{}: member {}: expected local sizes {}/{} and CRC {:08x} as in the central "
             "directory, got {}/{} and {:08x}",
             name, Quote(fn), m.compressed, m.uncompressed, m.crc, csize, usize, l_crc);
      }
    }
    if (m.compressed > cd_offset - data_start) {
      Fail("{}: member {}: expected {} data bytes before the central directory, got {}", name,
           Quote(fn), m.compressed, cd_offset - data_start);
    }
    const std::span<const uint8_t> raw = b.subspan(data_start, m.compressed);
    std::vector<uint8_t> inflated;
    std::span<const uint8_t> npy = raw;
    if (m.method == 0) {
      if (m.compressed != m.uncompressed) {
        Fail("{}: member {}: expected a stored member with equal sizes, got {} and {}", name,
             Quote(fn), m.compressed, m.uncompressed);
      }
    } else {
      if (m.uncompressed > m.compressed * kMaxDeflateRatio + 1024) {
        Fail("{}: member {}: expected a deflate ratio of at most {}:1, got {} -> {} bytes", name,
             Quote(fn), kMaxDeflateRatio, m.compressed, m.uncompressed);
      }
      inflated = Inflate(raw, m.uncompressed, name, fn);
      npy = inflated;
    }
    const uint32_t crc = Crc32(npy);
    if (crc != m.crc) {
      Fail("{}: member {}: expected CRC-32 {:08x}, got {:08x} (corrupt data)", name, Quote(fn),
           m.crc, crc);
    }
    out.emplace(key, ParseNpy(npy, fmt::format("{}: member {}", name, Quote(fn))));
  }
  return out;
}

std::map<std::string, NpyArray> ReadNpz(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path, "ReadNpz");
  return ParseNpz(bytes, path);
}

}  // namespace hsr::sim
