# Warnings, sanitizers and the test helper shared by every module.

add_library(hsr_warnings INTERFACE)
target_compile_options(hsr_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-psabi>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${HSR_WERROR}>>:-Werror>)

if(HSR_SANITIZE)
  string(REPLACE ";" "," _hsr_san "${HSR_SANITIZE}")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${_hsr_san}>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>)
  add_link_options(-fsanitize=${_hsr_san})
endif()

# hsr_add_test(NAME SOURCES... LIBS... [LABELS...]): one executable per *_test.cc, discovered
# into ctest. Labels: "quick" tests also run in the sanitizer build.
function(hsr_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main hsr_warnings)
  target_compile_definitions(${name} PRIVATE HSR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 PROPERTIES LABELS "${ARG_LABELS}"
                       ENVIRONMENT "OMP_WAIT_POLICY=passive")
endfunction()

# HSR_HWY_DISABLED_TARGETS: a Highway target mask compiled out everywhere (HWY_DISABLED_TARGETS).
# The asan preset keeps EMU128 and AVX2 only (6528 = SSSE3|SSE4|AVX3|AVX3_DL): the release build
# already checks every target against the oracle, and the sanitizer build is 3x faster this way.
set(HSR_HWY_DISABLED_TARGETS "" CACHE STRING "Highway targets to compile out (bit mask; empty: none)")
if(HSR_HWY_DISABLED_TARGETS)
  add_compile_definitions(HWY_DISABLED_TARGETS=${HSR_HWY_DISABLED_TARGETS})
endif()

# Highway 1.0.3 compiles its AVX3_DL target (AVX-512 VNNI, VBMI2, BITALG, VPCLMULQDQ, VAES:
# Ice Lake and later, Zen 4 and later) only when HWY_WANT_AVX3_DL is defined. Defined for every
# translation unit, so the dispatch tables of core/ and the target lists of the tests agree.
add_compile_definitions(HWY_WANT_AVX3_DL)
