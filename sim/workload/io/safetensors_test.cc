// safetensors.h: F32/F16/BF16 conversion, name filters, testdata/ written by make_slice.py, and
// one test per malformed header.
#include "sim/workload/io/safetensors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sim/workload/io/io_test_util.h"

namespace hsr::sim {
namespace {

using testing::Bytes;
using testing::ExpectError;
using testing::FloatBytes;
using testing::MakeSafetensors;

void ExpectStError(const Bytes& b, std::string_view fragment,
                   const std::vector<std::string>& names = {}) {
  ExpectError([&] { ParseSafetensors(b, "test.safetensors", names); }, fragment);
}

Bytes Valid() {
  Bytes buf = FloatBytes({1.0f, -2.0f});               // a: F32 [2]      [0, 8)
  buf.insert(buf.end(), {0x00, 0x3C, 0x00, 0x7C});     // b: F16 [2]      [8, 12): 1, +inf
  buf.insert(buf.end(), {0x80, 0x3F, 0xC0, 0x7F});     // c: BF16 [1, 2]  [12, 16): 1, NaN
  return MakeSafetensors(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},)"
      R"("c":{"dtype":"BF16","shape":[1,2],"data_offsets":[12,16]},)"
      R"("__metadata__":{"format":"pt","scale":"0.5"}})",
      buf);
}

TEST(SafetensorsTest, ReadsF32F16Bf16) {
  const SafetensorsFile f = ParseSafetensors(Valid(), "t");
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors.at("a").data, (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(f.tensors.at("b").data[0], 1.0f);
  EXPECT_TRUE(std::isinf(f.tensors.at("b").data[1]));
  EXPECT_EQ(f.tensors.at("c").shape, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(f.tensors.at("c").data[0], 1.0f);
  EXPECT_TRUE(std::isnan(f.tensors.at("c").data[1]));
  EXPECT_EQ(f.tensors.at("c").dtype, "BF16");
  EXPECT_EQ(f.metadata.at("scale"), "0.5");
}

TEST(SafetensorsTest, NameFilter) {
  const SafetensorsFile f = ParseSafetensors(Valid(), "t", {"c"});
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors.count("c"), 1u);
  ExpectStError(Valid(), "expected a tensor named 'q', got 'a', 'b', 'c'", {"q"});
}

TEST(SafetensorsTest, UnreadTensorsMayHaveOtherDtypes) {
  const Bytes b = MakeSafetensors(
      R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("f":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      Bytes(12));
  EXPECT_EQ(ParseSafetensors(b, "t", {"f"}).tensors.size(), 1u);
  ExpectStError(b, "expected dtype F32, F16 or BF16, got 'I64'");
}

TEST(SafetensorsTest, TooShort) { ExpectStError(Bytes(5), "at least 8 bytes"); }

TEST(SafetensorsTest, HeaderLengthBeyondFile) {
  Bytes b;
  testing::Put64(b, 1000);
  testing::Append(b, "{}");
  ExpectStError(b, "truncated header");
}

TEST(SafetensorsTest, HeaderLengthOver100MiB) {
  Bytes b;
  testing::Put64(b, (uint64_t{100} << 20) + 1);
  testing::Append(b, "{}");
  ExpectStError(b, "oversized header");
  Bytes huge;
  testing::Put64(huge, ~uint64_t{0});
  ExpectStError(huge, "oversized header");
}

TEST(SafetensorsTest, JsonGarbage) {
  ExpectStError(MakeSafetensors("{\"a\": [1, 2,\n\x01", {}), "expected a JSON header");
  ExpectStError(MakeSafetensors("", {}), "expected a JSON header");
  ExpectStError(MakeSafetensors("[1, 2]", {}), "JSON object header, got JSON array");
  ExpectStError(MakeSafetensors(R"({"a": 3})", {}), "tensor 'a': expected an object");
  ExpectStError(MakeSafetensors(R"({"__metadata__": 3})", {}), "__metadata__");
}

TEST(SafetensorsTest, MissingFields) {
  ExpectStError(MakeSafetensors(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", Bytes(4)),
                "expected a string \"dtype\", got none");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", Bytes(4)),
                "expected an array \"shape\", got none");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[1]}})", Bytes(4)),
                "\"data_offsets\" [begin, end]");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})",
                                Bytes(4)), "\"data_offsets\" [begin, end]");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})",
                                Bytes(4)), "got number");
}

TEST(SafetensorsTest, BadShapeEntries) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
                                Bytes(4)), "non-negative integer shape entries, got '-1'");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
                                Bytes(4)), "non-negative integer shape entries");
}

TEST(SafetensorsTest, OffsetsOutOfRange) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                Bytes(4)), "within the 4-byte buffer, got [0, 8]");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})",
                                Bytes(4)), "non-negative integers");
}

TEST(SafetensorsTest, BeginAfterEnd) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
                                Bytes(4)), "begin <= end, got [4, 0]");
}

TEST(SafetensorsTest, OverlappingTensors) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                Bytes(8)), "non-overlapping tensors, got 'a' [0, 8] overlapping 'b'");
}

TEST(SafetensorsTest, SizeMismatch) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                Bytes(8)), "expected 12 bytes for shape [3] of F32");
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,4]}})",
                                Bytes(4)), "expected 8 bytes for shape [2, 2] of BF16");
}

TEST(SafetensorsTest, ShapeOverflow) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
                                R"("data_offsets":[0,4]}})", Bytes(4)), "fits in size_t");
}

TEST(SafetensorsTest, UnknownDtype) {
  ExpectStError(MakeSafetensors(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})",
                                Bytes(4)), "expected dtype F32, F16 or BF16, got 'Q4'");
}

TEST(SafetensorsTest, TestdataMatchesNumpy) {
  std::ifstream cf(HSR_IO_TESTDATA "/checksums.json");
  const auto want = nlohmann::json::parse(cf);
  const auto t = ReadSafetensors(HSR_IO_TESTDATA "/tinylm-code-8.safetensors");
  ASSERT_EQ(t.size(), 3u);
  for (const char* x : {"q", "k", "v"}) {
    const auto& w = want[std::string("tinylm-code-8.safetensors/") + x];
    const NpyArray& a = t.at(x);
    EXPECT_EQ(a.shape, w["shape"].get<std::vector<size_t>>()) << x;
    EXPECT_EQ(a.dtype, w["dtype"].get<std::string>()) << x;
    const auto* p = reinterpret_cast<const uint8_t*>(a.data.data());
    EXPECT_EQ(Crc32({p, a.data.size() * 4}), w["crc32"].get<uint32_t>()) << x << " " << a.dtype;
  }
}

}  // namespace
}  // namespace hsr::sim
