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
