// Cache and memory sizes of the machine, read once (sysfs first, then sysconf).
// Used by dense-hwy to decide whether a call's K/V will stream from DRAM, and by sim/ to size
// cold-cache buffers and the read-bandwidth probe.
#pragma once

#include <cstddef>

namespace hsr {

// Last-level cache size in bytes; 32 MiB when unknown.
size_t LastLevelCacheBytes();

}  // namespace hsr
