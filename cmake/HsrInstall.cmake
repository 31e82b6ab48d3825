# `cmake --install` exports hsr::core so another project can find_package(hsr) and
# #include <hsr/hsr.h>. Only the public headers (core/include/hsr/) are installed, into
# include/hsr/; the target's include directory there is include/ (core/CMakeLists.txt).
include(CMakePackageConfigHelpers)

install(TARGETS hsr_core EXPORT hsrTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY core/include/hsr DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT hsrTargets NAMESPACE hsr:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hsr)
configure_package_config_file(cmake/hsrConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/hsrConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hsr)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/hsrConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/hsrConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/hsrConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hsr)
