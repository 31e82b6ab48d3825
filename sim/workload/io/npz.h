// NumPy .npz reader: a zip archive of .npy members (np.savez, np.savez_compressed).
//
// Members may be stored (method 0) or deflated (method 8, needs zlib at build time: HSR_HAVE_ZLIB;
// without it a deflated member is a one-line error). Validates the end-of-central-directory record,
// every central and local header, that offsets and sizes stay inside the file, the local/central
// agreement (including numpy's zip64 extra field in local headers), the decoded size and CRC-32.
// Zip64 archives (members or archives over 4 GiB), encryption, multi-disk archives, duplicate names
// and non-.npy members throw hsr::Error. Keys are member names without ".npy" (as numpy's load).
// Tests: npz_test.cc; fuzzed by fuzz/npz_fuzz.cc.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "sim/workload/io/npy.h"

namespace hsr::sim {

// Parses an .npz archive held in memory; `name` prefixes every error message.
std::map<std::string, NpyArray> ParseNpz(std::span<const uint8_t> bytes, std::string_view name);

// Reads and parses the file at `path`.
std::map<std::string, NpyArray> ReadNpz(const std::string& path);

// True when this build can read deflated members.
bool NpzSupportsDeflate();

}  // namespace hsr::sim
