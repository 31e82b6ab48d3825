// npy.h: valid headers of each version and dtype, one test per malformed input (one-line errors
// naming what was expected), and WriteNpy -> ReadNpy round trips.
#include "sim/workload/io/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "sim/workload/io/io_test_util.h"

namespace hsr::sim {
namespace {

using testing::Bytes;
using testing::Dict;
using testing::ExpectError;
using testing::FloatBytes;
using testing::MakeNpy;

NpyArray Parse(const Bytes& b) { return ParseNpy(b, "test.npy"); }
void ExpectParseError(const Bytes& b, std::string_view fragment) {
  ExpectError([&] { Parse(b); }, fragment);
}

TEST(NpyTest, ReadsFloat32EachVersion) {
  const std::vector<float> v = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, 5.0f};
  for (int major : {1, 2, 3}) {
    const NpyArray a = Parse(MakeNpy(Dict("<f4", "(2, 3)"), FloatBytes(v), major));
    EXPECT_EQ(a.shape, (std::vector<size_t>{2, 3})) << "version " << major;
    EXPECT_EQ(a.data, v) << "version " << major;
    EXPECT_EQ(a.dtype, "<f4");
  }
}

TEST(NpyTest, ReadsFloat16WithSubnormalsInfNan) {
  // 1.0, -2.0, smallest subnormal, +inf, NaN
  const Bytes data = {0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x7C, 0x00, 0x7E};
  const NpyArray a = Parse(MakeNpy(Dict("<f2", "(5,)"), data));
  ASSERT_EQ(a.data.size(), 5u);
  EXPECT_EQ(a.data[0], 1.0f);
  EXPECT_EQ(a.data[1], -2.0f);
  EXPECT_EQ(a.data[2], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(a.data[3]));
  EXPECT_TRUE(std::isnan(a.data[4]));
  EXPECT_EQ(a.dtype, "<f2");
}

TEST(NpyTest, AcceptsHeaderVariants) {
  // Double quotes, no trailing comma, keys in another order, no padding, 0-d and empty arrays.
  const Bytes one = FloatBytes({7.0f});
  EXPECT_EQ(Parse(MakeNpy(R"({"shape": (), "fortran_order": False, "descr": "<f4"})", one, 1,
                          false)).data, std::vector<float>{7.0f});
  const NpyArray empty = Parse(MakeNpy(Dict("<f4", "(0, 3)"), {}));
  EXPECT_EQ(empty.shape, (std::vector<size_t>{0, 3}));
  EXPECT_TRUE(empty.data.empty());
  EXPECT_EQ(Parse(MakeNpy(Dict("<f4", "(1L,)"), one)).shape, std::vector<size_t>{1});
}

TEST(NpyTest, BadMagic) {
  Bytes b = MakeNpy(Dict("<f4", "(1,)"), FloatBytes({1.0f}));
  b[1] = 'X';
  ExpectParseError(b, "magic");
  ExpectParseError(Bytes{}, "magic");
  ExpectParseError(Bytes{'P', 'K', 3, 4}, "magic");
}

TEST(NpyTest, TruncatedHeader) {
  const Bytes full = MakeNpy(Dict("<f4", "(1,)"), FloatBytes({1.0f}));
  ExpectParseError(Bytes(full.begin(), full.begin() + 7), "truncated header");
  ExpectParseError(Bytes(full.begin(), full.begin() + 9), "truncated header");
  ExpectParseError(Bytes(full.begin(), full.begin() + 40), "truncated header");
}

TEST(NpyTest, UnsupportedVersion) {
  Bytes b = MakeNpy(Dict("<f4", "(1,)"), FloatBytes({1.0f}));
  b[6] = 4;
  ExpectParseError(b, "version 1.0, 2.0 or 3.0, got 4.0");
}

TEST(NpyTest, OversizedHeader) {
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
  testing::Put32(b, (1u << 20) + 1);
  b.resize(b.size() + 64, ' ');
  ExpectParseError(b, "oversized header");
}

TEST(NpyTest, MalformedHeaderDict) {
  const Bytes one = FloatBytes({1.0f});
  ExpectParseError(MakeNpy("descr: <f4", one), "malformed .npy header");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'shape': (1,)}", one), "missing fortran_order");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'fortran_order': False}", one), "missing shape");
  ExpectParseError(MakeNpy(Dict("<f4", "(1,)") + "x", one), "only whitespace after the dict");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                           one), "keys descr, fortran_order, shape");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1,)}", one), "each key once");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", one),
                   "True or False");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", one),
                   "'(' opening the shape tuple");
  ExpectParseError(MakeNpy("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", one),
                   "malformed .npy header");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", one),
                   "in the shape tuple");
  ExpectParseError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", one),
                   "malformed .npy header");
  ExpectParseError(MakeNpy(std::string("{'descr': '<f4\n\x01', 'fortran_order': False, "
                                       "'shape': (1,)}"), one), "dtype");
}

TEST(NpyTest, FortranOrder) {
  ExpectParseError(MakeNpy(Dict("<f4", "(2, 1)", "True"), FloatBytes({1.0f, 2.0f})),
                   "fortran_order False (C order), got True");
}

TEST(NpyTest, BigEndian) {
  ExpectParseError(MakeNpy(Dict(">f4", "(1,)"), FloatBytes({1.0f})), "big-endian '>f4'");
  ExpectParseError(MakeNpy(Dict(">f2", "(2,)"), FloatBytes({1.0f})), "big-endian");
}

TEST(NpyTest, UnknownDtype) {
  ExpectParseError(MakeNpy(Dict(">f8", "(1,)"), Bytes(8)), "expected dtype <f4 or <f2, got '>f8'");
  ExpectParseError(MakeNpy(Dict("<i4", "(1,)"), Bytes(4)), "got '<i4'");
  ExpectParseError(MakeNpy(Dict("|u1", "(4,)"), Bytes(4)), "got '|u1'");
  ExpectParseError(MakeNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                           Bytes(4)), "structured dtype");
}

TEST(NpyTest, ShapeProductOverflow) {
  ExpectParseError(MakeNpy(Dict("<f4", "(4294967296, 4294967296)"), Bytes(4)),
                   "fits in size_t");
  ExpectParseError(MakeNpy(Dict("<f4", "(4611686018427387904,)"), Bytes(4)), "fits in size_t");
  ExpectParseError(MakeNpy(Dict("<f4", "(99999999999999999999999,)"), Bytes(4)),
                   "fit in size_t");
}

TEST(NpyTest, TruncatedData) {
  ExpectParseError(MakeNpy(Dict("<f4", "(2, 3)"), FloatBytes({1, 2, 3, 4, 5})),
                   "truncated data: expected 24 bytes for shape [2, 3] of <f4, got 20");
}

TEST(NpyTest, TrailingGarbage) {
  Bytes data = FloatBytes({1, 2, 3});
  data.push_back(0);
  ExpectParseError(MakeNpy(Dict("<f4", "(3,)"), data), "trailing garbage: expected 12 bytes");
}

TEST(NpyTest, NegativeShapeEntry) {
  ExpectParseError(MakeNpy(Dict("<f4", "(-1, 3)"), Bytes(12)),
                   "non-negative integer shape entry 0, got -1");
}

TEST(NpyTest, NonIntegerShapeEntry) {
  ExpectParseError(MakeNpy(Dict("<f4", "(2.5,)"), Bytes(12)), "got '2.5'");
  ExpectParseError(MakeNpy(Dict("<f4", "(3, None)"), Bytes(12)), "shape entry 1, got 'None'");
  ExpectParseError(MakeNpy(Dict("<f4", "(1e3,)"), Bytes(12)), "non-negative integer");
}

TEST(NpyTest, RoundTrip) {
  const auto dir = testing::TempDir("npy_round_trip");
  const std::string path = (dir / "x.npy").string();
  std::vector<float> v(2 * 3 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 3.0f;
  v[7] = std::numeric_limits<float>::infinity();
  for (const std::vector<size_t>& shape : {std::vector<size_t>{2, 3, 5}, {30}, {30, 1}}) {
    WriteNpy(path, shape, v);
    const NpyArray a = ReadNpy(path);
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.data, v);
    EXPECT_EQ(std::filesystem::file_size(path), 128u + v.size() * 4) << "header padded to 64";
  }
  WriteNpy(path, {}, std::vector<float>{2.0f});  // 0-d
  EXPECT_EQ(ReadNpy(path).data, std::vector<float>{2.0f});
  WriteNpy(path, {0, 4}, std::vector<float>{});
  EXPECT_EQ(ReadNpy(path).shape, (std::vector<size_t>{0, 4}));
  // Only the final file is left behind (no temporary).
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

TEST(NpyTest, WriteChecksSizeAndPath) {
  const auto dir = testing::TempDir("npy_write_errors");
  ExpectError([&] { WriteNpy((dir / "a.npy").string(), {2, 2}, std::vector<float>(3)); },
              "expected 4 floats for shape [2, 2], got 3");
  ExpectError([&] { WriteNpy((dir / "missing" / "a.npy").string(), {1}, std::vector<float>(1)); },
              "expected a writable path");
  EXPECT_FALSE(std::filesystem::exists(dir / "a.npy"));
  std::filesystem::remove_all(dir);
}

TEST(NpyTest, ReadMissingFile) {
  ExpectError([] { ReadNpy("/nonexistent/hsr/x.npy"); }, "expected a readable file");
}

}  // namespace
}  // namespace hsr::sim
