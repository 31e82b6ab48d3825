// recorded.h: manifest validation (one test per malformed manifest), the testdata/ slices cut by
// sim/workload/make_slice.py checked against numpy's checksums, SPEC parsing, and the recordings
// shipped in sim/workload/data (checksums, shapes, the testdata slice as their prefix).
#include "sim/workload/io/recorded.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "sim/workload/io/io_test_util.h"
#include "sim/workload/io/npy.h"

namespace hsr::sim {
namespace {

using testing::ExpectError;
namespace fs = std::filesystem;

const std::string kData = HSR_IO_TESTDATA;
// The recordings shipped in the repository (sim/workload/data/README.md).
const std::string kShipped = std::string(HSR_SOURCE_DIR) + "/sim/workload/data";

nlohmann::json Checksums(const std::string& dir = kData) {
  std::ifstream f(dir + "/checksums.json");
  return nlohmann::json::parse(f);
}

// CRC-32 of the float32 bytes, as numpy's zlib.crc32(a.astype('<f4').tobytes()).
uint32_t CrcOf(const float* p, size_t n) {
  return Crc32({reinterpret_cast<const uint8_t*>(p), n * sizeof(float)});
}

void ExpectTensorMatches(const hsr::Tensor& t, const nlohmann::json& want, const std::string& what) {
  const auto shape = want["shape"].get<std::vector<size_t>>();
  ASSERT_EQ(shape.size(), 3u) << what;
  EXPECT_EQ(t.heads(), shape[0]) << what;
  EXPECT_EQ(t.rows(), shape[1]) << what;
  EXPECT_EQ(t.cols(), shape[2]) << what;
  EXPECT_EQ(CrcOf(t.data(), t.size()), want["crc32"].get<uint32_t>()) << what;
  double sum = 0, sum_abs = 0;
  for (const float x : t.flat()) {
    sum += x;
    sum_abs += std::fabs(x);
  }
  // Float64 sums of <= 2^15 float32 values in a different order: |error| <= n * 2^-53 * sum|x|.
  const double tol = static_cast<double>(t.size()) * 0x1p-53 * sum_abs;
  EXPECT_NEAR(sum, want["sum"].get<double>(), tol) << what;
  EXPECT_NEAR(sum_abs, want["sum_abs"].get<double>(), tol) << what;
  for (const auto& s : want["samples"]) {
    EXPECT_EQ(t.data()[s[0].get<size_t>()], s[1].get<float>()) << what << " index " << s[0];
  }
}

TEST(RecordedTest, Float16FolderMatchesNumpy) {
  const auto want = Checksums();
  const RecordedHeads r = LoadRecordedDir(kData + "/tinylm-code-64-f16");
  EXPECT_EQ(r.layer, 3u);
  EXPECT_FALSE(r.head.has_value());
  EXPECT_EQ(r.scale, 0.125f);
  EXPECT_TRUE(r.causal);
  ExpectTensorMatches(r.q, want["tinylm-code-64-f16/layer03_q.npy"], "q");
  ExpectTensorMatches(r.k, want["tinylm-code-64-f16/layer03_k.npy"], "k");
  ExpectTensorMatches(r.v, want["tinylm-code-64-f16/layer03_v.npy"], "v");
  EXPECT_NE(r.description.find("layer=3 head=all heads=4 n=64 d=64"), std::string::npos)
      << r.description;
}

TEST(RecordedTest, Float32FolderMatchesNumpyAndSelectsHead) {
  const auto want = Checksums();
  const RecordedHeads all = LoadRecorded("npy:" + kData + "/tinylm-code-12-f32,layer=3");
  ExpectTensorMatches(all.k, want["tinylm-code-12-f32/layer03_k.npy"], "k");
  const RecordedHeads one = LoadRecorded("npy:" + kData + "/tinylm-code-12-f32,head=2");
  ASSERT_EQ(one.head, std::optional<size_t>(2));
  ASSERT_EQ(one.q.heads(), 1u);
  ASSERT_EQ(one.q.rows(), 12u);
  for (size_t i = 0; i < one.q.size(); ++i) {
    ASSERT_EQ(one.q.data()[i], all.q.Matrix(2).data[i]) << "element " << i;
    ASSERT_EQ(one.v.data()[i], all.v.Matrix(2).data[i]) << "element " << i;
  }
}

TEST(RecordedTest, Float16SliceIsTheFloat32SliceRounded) {
  const RecordedHeads h = LoadRecordedDir(kData + "/tinylm-code-64-f16");
  const RecordedHeads f = LoadRecordedDir(kData + "/tinylm-code-12-f32");
  for (size_t head = 0; head < 4; ++head) {
    for (size_t i = 0; i < 12; ++i) {
      for (size_t c = 0; c < 64; ++c) {
        const float x = f.k.Matrix(head)(i, c), y = h.k.Matrix(head)(i, c);
        // Round to nearest float16: relative error <= 2^-11, absolute <= 2^-25 near zero.
        ASSERT_LE(std::fabs(x - y), std::max(std::fabs(x) * 0x1p-11f, 0x1p-25f))
            << "head " << head << " row " << i << " col " << c;
      }
    }
  }
}

TEST(RecordedTest, NpzAndSafetensors) {
  const auto want = Checksums();
  const RecordedHeads st = LoadRecorded("safetensors:" + kData + "/tinylm-code-8.safetensors");
  ExpectTensorMatches(st.q, want["tinylm-code-8.safetensors/q"], "st q");
  ExpectTensorMatches(st.k, want["tinylm-code-8.safetensors/k"], "st k");
  ExpectTensorMatches(st.v, want["tinylm-code-8.safetensors/v"], "st v");
  EXPECT_EQ(st.scale, 0.125f);
  EXPECT_TRUE(st.causal);
  const RecordedHeads renamed =
      LoadRecorded("safetensors:" + kData + "/tinylm-code-8.safetensors,q=k,k=q,v=v,head=1");
  EXPECT_EQ(renamed.q.heads(), 1u);
  ExpectError([&] { LoadRecorded("safetensors:" + kData + "/tinylm-code-8.safetensors,q=x"); },
              "expected a tensor named 'x'");

  const RecordedHeads npz = LoadRecorded("npy:" + kData + "/tinylm-code-2.npz,head=3");
  EXPECT_EQ(npz.q.heads(), 1u);
  EXPECT_EQ(npz.q.rows(), 2u);
  EXPECT_EQ(npz.scale, 0.125f);  // 1/sqrt(64): no scale array in this file
}

// An .npz "causal" entry: 1 or 0, anything else an error naming the file and the array.
TEST(RecordedTest, NpzCausalFlag) {
  const fs::path dir = testing::TempDir("npz_causal");
  const testing::Bytes q = testing::MakeNpy(testing::Dict("<f4", "(1, 2)"),
                                            testing::FloatBytes({0.5f, 1.0f}));
  for (const float flag : {0.0f, 1.0f, 0.5f}) {
    const testing::Bytes c =
        testing::MakeNpy(testing::Dict("<f4", "()"), testing::FloatBytes({flag}));
    const testing::Bytes z =
        testing::MakeZip({{"q.npy", q}, {"k.npy", q}, {"v.npy", q}, {"causal.npy", c}});
    const std::string path = (dir / "c.npz").string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(z.data()),
                                                static_cast<std::streamsize>(z.size()));
    if (flag == 0.5f) {
      ExpectError([&] { LoadRecordedNpz(path); },
                  "c.npz: expected array \"causal\" to be 0 or 1 (false or true), got 0.5");
    } else {
      EXPECT_EQ(LoadRecordedNpz(path).causal, flag == 1.0f);
    }
  }
  fs::remove_all(dir);
}

TEST(RecordedTest, SpecErrors) {
  ExpectError([] { LoadRecorded("gaussian"); }, "expected npy:DIR");
  ExpectError([] { LoadRecorded("hdf5:x.h5"); }, "expected npy:, npz: or safetensors:");
  ExpectError([&] { LoadRecorded("npy:" + kData + "/tinylm-code-12-f32,head=x"); },
              "head=<non-negative integer>, got 'x'");
  ExpectError([&] { LoadRecorded("npy:" + kData + "/tinylm-code-12-f32,heads=1"); },
              "expected options layer=L, head=H, got 'heads=1'");
  ExpectError([&] { LoadRecorded("npy:" + kData + "/tinylm-code-12-f32,layer=2"); },
              "expected layer= one of [3], got layer=2");
  ExpectError([&] { LoadRecorded("npy:" + kData + "/tinylm-code-12-f32,head=4"); },
              "expected head < 4 (heads), got head=4");
  ExpectError([] { LoadRecorded("npy:/nonexistent/dir"); }, "expected a readable file");
  ExpectError([&] { LoadRecorded("npz:" + kData); }, "expected a regular file");
}

// --- manifest.json validation ---

const char* kGoodManifest = R"({"n": 2, "heads": 1, "head_dim": 3, "layers": [0], "scale": 0.5,
  "causal": true, "dtype": "float32", "files": {"layer00": ["q.npy", "k.npy", "v.npy"]}})";

nlohmann::json Good() { return nlohmann::json::parse(kGoodManifest); }

void ExpectManifestError(const nlohmann::json& j, std::string_view fragment) {
  ExpectError([&] { ParseManifest(j.dump(), "manifest.json"); }, fragment);
}

TEST(ManifestTest, Valid) {
  const RecordedManifest m = ParseManifest(kGoodManifest, "m");
  EXPECT_EQ(m.n, 2u);
  EXPECT_EQ(m.files.at(0)[1], "k.npy");
  EXPECT_TRUE(m.causal);
}

TEST(ManifestTest, Garbage) {
  ExpectError([] { ParseManifest("{\"n\": 2,\n garbage", "manifest.json"); },
              "expected manifest JSON");
  ExpectError([] { ParseManifest("", "manifest.json"); }, "expected manifest JSON");
  ExpectError([] { ParseManifest("[1]", "manifest.json"); }, "expected a JSON object");
}

TEST(ManifestTest, Extents) {
  for (const char* key : {"n", "heads", "head_dim"}) {
    auto j = Good();
    j.erase(key);
    ExpectManifestError(j, std::string("\"") + key + "\" to be an integer in [1, 2147483648], got none");
    j[key] = 0;
    ExpectManifestError(j, "got '0'");
    j[key] = -3;
    ExpectManifestError(j, "got '-3'");
    j[key] = "64";
    ExpectManifestError(j, "got '\"64\"'");
    j[key] = 2.5;
    ExpectManifestError(j, "got '2.5'");
  }
}

TEST(ManifestTest, Layers) {
  auto j = Good();
  j["layers"] = nlohmann::json::array();
  ExpectManifestError(j, "non-empty array");
  j["layers"] = {0, 0};
  ExpectManifestError(j, "unique \"layers\"");
  j["layers"] = {"0"};
  ExpectManifestError(j, "integers in [0, 9999]");
  j["layers"] = {1};
  ExpectManifestError(j, "\"files\".\"layer01\" to be [q, k, v] file names, got none");
}

TEST(ManifestTest, Files) {
  auto j = Good();
  j["files"]["layer00"] = {"q.npy", "k.npy"};
  ExpectManifestError(j, "[q, k, v] file names");
  j["files"]["layer00"] = {"q.npy", "../k.npy", "v.npy"};
  ExpectManifestError(j, "file name in the folder (no '/')");
  j["files"]["layer00"] = {"q.npy", 3, "v.npy"};
  ExpectManifestError(j, "file name in the folder");
  j["files"] = "layer00";
  ExpectManifestError(j, "\"files\" to be an object");
}

TEST(ManifestTest, ScaleCausalDtype) {
  auto j = Good();
  j.erase("scale");
  ExpectManifestError(j, "\"scale\" to be a number");
  j["scale"] = -0.1;
  ExpectManifestError(j, "finite positive \"scale\"");
  j["scale"] = 0.125;
  // The mask is never guessed: missing or not a boolean is an error naming the field.
  j.erase("causal");
  ExpectManifestError(j, "manifest.json: expected \"causal\" to be true or false (the mask the "
                         "recording was made with), got none");
  j["causal"] = "yes";
  ExpectManifestError(j, "\"causal\" to be true or false");
  j["causal"] = 1;
  ExpectManifestError(j, "got '1'");
  j["causal"] = false;
  EXPECT_FALSE(ParseManifest(j.dump(), "m").causal);
  j["dtype"] = "bfloat16";
  ExpectManifestError(j, "\"dtype\" float32 or float16, got 'bfloat16'");
}

TEST(ManifestTest, KvHeads) {
  auto j = Good();
  j["heads"] = 4;
  EXPECT_EQ(ParseManifest(j.dump(), "m").kv_heads, 4u);  // default: heads
  j["kv_heads"] = 2;
  EXPECT_EQ(ParseManifest(j.dump(), "m").kv_heads, 2u);
  j["kv_heads"] = 3;
  ExpectManifestError(j, "manifest.json: expected \"kv_heads\" to divide \"heads\"=4");
  j["kv_heads"] = 0;
  ExpectManifestError(j, "\"kv_heads\" to be an integer in [1, 2147483648], got '0'");
}

TEST(ManifestTest, FilesMustMatchManifest) {
  const fs::path dir = testing::TempDir("manifest_shapes");
  {
    std::ofstream(dir / "manifest.json") << kGoodManifest;
  }
  const std::vector<float> six(6, 1.0f);
  WriteNpy((dir / "q.npy").string(), {1, 2, 3}, six);
  WriteNpy((dir / "k.npy").string(), {1, 3, 2}, six);
  WriteNpy((dir / "v.npy").string(), {1, 2, 3}, six);
  ExpectError([&] { LoadRecordedDir(dir.string()); }, "k.npy: expected shape [1, 2, 3]");
  WriteNpy((dir / "k.npy").string(), {1, 2, 3}, six);
  EXPECT_EQ(LoadRecordedDir(dir.string()).k.size(), 6u);
  fs::remove(dir / "v.npy");
  ExpectError([&] { LoadRecordedDir(dir.string()); }, "expected a readable file");
  fs::remove_all(dir);
}

// Grouped-query attention folders (kv_heads < heads), and two layers whose tensors disagree:
// the layer that does not match the manifest is an error naming its file and the shape.
TEST(ManifestTest, GqaFolderAndShapesAcrossLayers) {
  const fs::path dir = testing::TempDir("manifest_gqa");
  auto j = Good();
  j["heads"] = 4;
  j["kv_heads"] = 2;
  j["layers"] = {0, 1};
  j["files"]["layer01"] = {"q1.npy", "k1.npy", "v1.npy"};
  std::ofstream(dir / "manifest.json") << j.dump();
  std::vector<float> q(4 * 2 * 3), kv(2 * 2 * 3);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(i);
  for (size_t i = 0; i < kv.size(); ++i) kv[i] = 100.0f + static_cast<float>(i);
  for (const char* s : {"", "1"}) {
    WriteNpy((dir / fmt::format("q{}.npy", s)).string(), {4, 2, 3}, q);
    WriteNpy((dir / fmt::format("k{}.npy", s)).string(), {2, 2, 3}, kv);
    WriteNpy((dir / fmt::format("v{}.npy", s)).string(), {2, 2, 3}, kv);
  }
  const RecordedHeads all = LoadRecordedDir(dir.string());
  EXPECT_EQ(all.q.heads(), 4u);
  EXPECT_EQ(all.k.heads(), 2u);
  const RecordedHeads h3 = LoadRecordedDir(dir.string(), 1, 3);  // kv head 3 / 2 = 1
  ASSERT_EQ(h3.k.heads(), 1u);
  EXPECT_EQ(h3.q.data()[0], 18.0f);
  EXPECT_EQ(h3.k.data()[0], 106.0f);
  EXPECT_NE(all.description.find("kv_heads=2"), std::string::npos) << all.description;
  // Layer 1's keys from a shorter sequence than the manifest's n (and layer 0's).
  WriteNpy((dir / "k1.npy").string(), {2, 1, 3}, std::vector<float>(6, 1.0f));
  EXPECT_EQ(LoadRecordedDir(dir.string(), 0).k.rows(), 2u);
  ExpectError([&] { LoadRecordedDir(dir.string(), 1); },
              "k1.npy: expected shape [2, 2, 3] ([kv_heads, n, head_dim] from manifest.json), "
              "got [2, 1, 3]");
  fs::remove_all(dir);
}

// --- the recordings shipped in sim/workload/data ---

TEST(RecordedShippedTest, SlicesMatchTheirChecksums) {
  const auto want = Checksums(kShipped);
  const std::pair<const char*, size_t> folders[] = {{"tinylm-code-2k-f16", 3},
                                                    {"tinylm-docs-2k-f16", 2}};
  for (const auto& [name, layer] : folders) {
    const std::string dir = kShipped + "/" + name;
    const RecordedHeads r = LoadRecordedDir(dir);
    EXPECT_EQ(r.layer, layer) << dir;
    EXPECT_TRUE(r.causal) << dir;
    EXPECT_EQ(r.scale, 0.125f) << dir;
    EXPECT_EQ(r.q.heads(), 4u);
    EXPECT_EQ(r.k.rows(), 2048u);
    const std::string prefix = fmt::format("{}/layer{:02d}_", name, layer);
    ExpectTensorMatches(r.q, want[prefix + "q.npy"], dir + " q");
    ExpectTensorMatches(r.k, want[prefix + "k.npy"], dir + " k");
    ExpectTensorMatches(r.v, want[prefix + "v.npy"], dir + " v");
  }
}

// Both are cut from layer 3 of tinylm-code-2k and rounded to float16 the same way: the 64-token
// test slice is, bit for bit, the first 64 positions of the shipped one.
TEST(RecordedShippedTest, TestdataSliceIsItsPrefix) {
  const RecordedHeads full = LoadRecordedDir(kShipped + "/tinylm-code-2k-f16");
  const RecordedHeads slice = LoadRecordedDir(kData + "/tinylm-code-64-f16");
  for (const auto& [a, b] : {std::pair{&full.q, &slice.q}, {&full.k, &slice.k},
                             {&full.v, &slice.v}}) {
    for (size_t h = 0; h < 4; ++h) {
      for (size_t i = 0; i < 64; ++i) {
        for (size_t c = 0; c < 64; ++c) {
          ASSERT_EQ(a->Matrix(h)(i, c), b->Matrix(h)(i, c)) << h << " " << i << " " << c;
        }
      }
    }
  }
}

}  // namespace
}  // namespace hsr::sim
