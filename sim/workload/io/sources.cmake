# The sim/workload/io sources, listed once: hsr_io (sim/workload/io/CMakeLists.txt) and the
# instrumented hsr_io_fuzz (fuzz/CMakeLists.txt) both build from this list.
set(HSR_IO_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/io_util.cc
  ${CMAKE_CURRENT_LIST_DIR}/npy.cc
  ${CMAKE_CURRENT_LIST_DIR}/npz.cc
  ${CMAKE_CURRENT_LIST_DIR}/safetensors.cc
  ${CMAKE_CURRENT_LIST_DIR}/recorded.cc)
