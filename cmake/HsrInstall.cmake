# `cmake --install` exports hsr::core so another project can find_package(hsr).
include(CMakePackageConfigHelpers)

install(TARGETS hsr_core EXPORT hsrTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hsr)
install(DIRECTORY core/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hsr/core
        FILES_MATCHING PATTERN "*.h" PATTERN "*_test*" EXCLUDE)
install(EXPORT hsrTargets NAMESPACE hsr:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hsr)
configure_package_config_file(cmake/hsrConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/hsrConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hsr)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/hsrConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/hsrConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/hsrConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hsr)
