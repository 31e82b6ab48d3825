// npz.h: archives built in the test (stored members) and by numpy (testdata/, stored and
// deflated); one test per malformed archive.
#include "sim/workload/io/npz.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sim/workload/io/io_test_util.h"

namespace hsr::sim {
namespace {

using testing::Bytes;
using testing::Dict;
using testing::ExpectError;
using testing::FloatBytes;
using testing::MakeNpy;
using testing::MakeZip;
using testing::ZipMember;

const Bytes kA = MakeNpy(Dict("<f4", "(2,)"), FloatBytes({1.0f, 2.0f}));
const Bytes kB = MakeNpy(Dict("<f2", "(1,)"), Bytes{0x00, 0x3C});

void ExpectNpzError(const Bytes& b, std::string_view fragment) {
  ExpectError([&] { ParseNpz(b, "test.npz"); }, fragment);
}

// Offset of the first byte of `sig` (little-endian 32-bit) at or after `from`.
size_t Find(const Bytes& b, uint32_t sig, size_t from = 0) {
  for (size_t i = from; i + 4 <= b.size(); ++i) {
    if (LoadLE32(&b[i]) == sig) return i;
  }
  return b.size();
}

TEST(NpzTest, ReadsStoredMembers) {
  const auto m = ParseNpz(MakeZip({{"a.npy", kA}, {"b.npy", kB}}), "test.npz");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("a").data, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(m.at("b").data, std::vector<float>{1.0f});
  EXPECT_TRUE(ParseNpz(MakeZip({}), "empty.npz").empty());
}

TEST(NpzTest, NotAZip) {
  ExpectNpzError(kA, "end-of-central-directory");
  ExpectNpzError(Bytes(10), "at least 22 bytes");
}

TEST(NpzTest, TruncatedArchive) {
  const Bytes z = MakeZip({{"a.npy", kA}});
  ExpectNpzError(Bytes(z.begin(), z.end() - 5), "end-of-central-directory");
  // Drop the first 40 bytes: the directory's offsets now point past where they should.
  ExpectNpzError(Bytes(z.begin() + 40, z.end()), "expected");
}

TEST(NpzTest, CentralDirectoryOutOfRange) {
  Bytes z = MakeZip({{"a.npy", kA}});
  const size_t end = Find(z, 0x06054b50);
  z[end + 16] = 0xF0;  // central directory offset far beyond the file
  ExpectNpzError(z, "central directory inside the file");
}

TEST(NpzTest, LocalHeaderOffsetOutOfRange) {
  Bytes z = MakeZip({{"a.npy", kA}});
  const size_t cd = Find(z, 0x02014b50);
  z[cd + 42] = 0x40;  // local header offset 0x40 + ...: not a local header
  z[cd + 43] = 0x01;
  ExpectNpzError(z, "expected a local header");
}

TEST(NpzTest, BadCentralSignature) {
  Bytes z = MakeZip({{"a.npy", kA}});
  z[Find(z, 0x02014b50) + 3] = 9;
  ExpectNpzError(z, "signature PK\\x01\\x02");
}

TEST(NpzTest, LocalCentralMismatch) {
  Bytes z = MakeZip({{"a.npy", kA}});
  z[30] = 'x';  // local file name
  ExpectNpzError(z, "local header to match the central directory");
}

TEST(NpzTest, SizeMismatch) {
  ExpectNpzError(MakeZip({{"a.npy", kA, 0, 0, static_cast<uint32_t>(kA.size() + 1)}}),
                 "stored member with equal sizes");
}

TEST(NpzTest, CrcMismatch) {
  ExpectNpzError(MakeZip({{"a.npy", kA, 0, 0x12345678}}), "CRC-32 12345678");
  Bytes z = MakeZip({{"a.npy", kA}});
  z[30 + 5 + kA.size() - 1] ^= 1;  // flip a data bit
  ExpectNpzError(z, "CRC-32");
}

TEST(NpzTest, UnsupportedMethod) {
  ExpectNpzError(MakeZip({{"a.npy", kA, 12}}), "method 0 (stored) or 8 (deflate), got 12");
}

TEST(NpzTest, Encrypted) {
  Bytes z = MakeZip({{"a.npy", kA}});
  z[Find(z, 0x02014b50) + 8] = 1;
  ExpectNpzError(z, "unencrypted");
}

TEST(NpzTest, Zip64) {
  Bytes z = MakeZip({{"a.npy", kA}});
  const size_t end = Find(z, 0x06054b50);
  for (int i = 12; i < 16; ++i) z[end + i] = 0xFF;
  ExpectNpzError(z, "Zip64");
  Bytes z2 = MakeZip({{"a.npy", kA}});
  const size_t cd = Find(z2, 0x02014b50);
  for (int i = 20; i < 28; ++i) z2[cd + i] = 0xFF;
  ExpectNpzError(z2, "Zip64");
}

TEST(NpzTest, MemberNames) {
  ExpectNpzError(MakeZip({{"a.txt", kA}}), "expected a .npy member name");
  ExpectNpzError(MakeZip({{"a.npy", kA}, {"a.npy", kA}}), "unique member names");
}

TEST(NpzTest, MalformedMemberNamesTheMember) {
  Bytes bad = kA;
  bad.pop_back();
  ExpectNpzError(MakeZip({{"a.npy", kA}, {"q.npy", bad}}), "member 'q.npy': truncated data");
}

TEST(NpzTest, DeflateRatio) {
  ExpectNpzError(MakeZip({{"a.npy", Bytes(4), 8, 0, 100000000}}), "deflate ratio");
}

TEST(NpzTest, CorruptDeflateStream) {
  const Bytes garbage(64, 0xFF);
  if (NpzSupportsDeflate()) {
    ExpectNpzError(MakeZip({{"a.npy", garbage, 8, 0, 128}}), "deflate stream");
  } else {
    ExpectNpzError(MakeZip({{"a.npy", garbage, 8, 0, 128}}), "build with zlib");
  }
}

nlohmann::json Checksums() {
  std::ifstream f(HSR_IO_TESTDATA "/checksums.json");
  return nlohmann::json::parse(f);
}

void ExpectMatches(const NpyArray& a, const nlohmann::json& want, const std::string& what) {
  EXPECT_EQ(a.shape, want["shape"].get<std::vector<size_t>>()) << what;
  EXPECT_EQ(a.dtype, want["dtype"].get<std::string>()) << what;
  const auto* p = reinterpret_cast<const uint8_t*>(a.data.data());
  EXPECT_EQ(Crc32({p, a.data.size() * 4}), want["crc32"].get<uint32_t>()) << what;
  for (const auto& s : want["samples"]) {
    EXPECT_EQ(a.data.at(s[0].get<size_t>()), s[1].get<float>()) << what << " index " << s[0];
  }
}

TEST(NpzTest, NumpyStoredArchive) {
  const auto want = Checksums();
  const auto m = ReadNpz(HSR_IO_TESTDATA "/tinylm-code-2.npz");
  ASSERT_EQ(m.size(), 3u);
  for (const char* x : {"q", "k", "v"}) {
    ExpectMatches(m.at(x), want[std::string("tinylm-code-2.npz/") + x], x);
  }
}

TEST(NpzTest, NumpyCompressedArchive) {
  const std::string path = HSR_IO_TESTDATA "/tinylm-code-8.npz";
  if (!NpzSupportsDeflate()) {
    ExpectError([&] { ReadNpz(path); }, "build with zlib");
    GTEST_SKIP() << "built without zlib: deflated " << path << " rejected with a clear error";
  }
  const auto want = Checksums();
  const auto m = ReadNpz(path);
  ASSERT_EQ(m.size(), 4u);  // q, k, v, scale
  for (const char* x : {"q", "k", "v"}) {
    ExpectMatches(m.at(x), want[std::string("tinylm-code-8.npz/") + x], x);
  }
  EXPECT_EQ(m.at("scale").data, std::vector<float>{0.125f});
}

}  // namespace
}  // namespace hsr::sim
