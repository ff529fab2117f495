# Run by ./dev package (target check-packages, see cmake/RillPackaging.cmake) as
#   cmake -D... -P package_test.cmake
# Checks the .deb files CPack made in PACKAGE_DIR as a user gets them, without installing them:
#   1. every expected package is there, with the right Depends between them
#   2. unpack every .deb with dpkg-deb -x into one tree, WORK_DIR/root; the files a user needs
#      are under root/usr (as for the install test), and the programs' desktop file and the docs
#   3. root/usr/bin/rillcat --help with an empty environment: its relative RPATH finds the
#      unpacked library, not one installed on the system
#   4. CMake: consumer/ with find_package(Rill COMPONENTS Core Models Quick Test Http) against root/usr
# Steps 2 to 4 are the install test's own (checks.cmake). Any failing step fails with its output.
cmake_minimum_required(VERSION 3.22)
include(${CMAKE_CURRENT_LIST_DIR}/checks.cmake)
set(RILL_CHECK_NAME "package check")

foreach(var PACKAGE_DIR RILL_VERSION WORK_DIR CONSUMER_SOURCE_DIR GENERATOR LIBDIR)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "package check: ${var} is not set")
    endif()
endforeach()
find_program(DPKG_DEB dpkg-deb REQUIRED)
find_program(LDD ldd REQUIRED)

set(root "${WORK_DIR}/root")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${root}")

# 1. The packages, and what they depend on. runtime: the libraries; the others need exactly
# the libraries of this build.
set(runtime librill0)
set(exact "${runtime} (= ${RILL_VERSION}-")
foreach(package librill0 librill-dev rill-tools qml6-module-rill rill-doc)
    file(GLOB deb "${PACKAGE_DIR}/${package}_${RILL_VERSION}-*.deb")
    if(NOT deb)
        message(FATAL_ERROR "package check: no ${package}_${RILL_VERSION}-*.deb in ${PACKAGE_DIR}")
    endif()
    rill_check_run("dpkg-deb -f ${package} Depends" "${DPKG_DEB}" -f "${deb}" Depends)
    string(STRIP "${step_output}" depends)
    message(STATUS "package check: ${package} depends on: ${depends}")
    if(package MATCHES "^(librill-dev|rill-tools|qml6-module-rill)$")
        string(FIND "${depends}" "${exact}" at)
        if(at LESS 0)
            message(FATAL_ERROR "package check: ${package} does not depend on ${exact}...)")
        endif()
    endif()
    list(APPEND debs "${deb}")
endforeach()

# 2. One tree of every package, as apt would install them, but anywhere.
foreach(deb ${debs})
    get_filename_component(name "${deb}" NAME)
    rill_check_run("dpkg-deb -x ${name}" "${DPKG_DEB}" -x "${deb}" "${root}")
endforeach()
rill_check_installed_files("${root}/usr"
    bin/rill-inspector
    share/applications/rill-inspector.desktop
    share/icons/hicolor/scalable/apps/rill-inspector.svg
    ${LIBDIR}/qt6/qml/Rill/librillquickplugin.so
    share/doc/rill/html/index.html
    share/qt6/doc/rill.qch)

# 3. The unpacked rillcat runs, on the unpacked library.
rill_check_rillcat("${root}/usr/bin")
rill_check_run("ldd rillcat" env -i "${LDD}" "${root}/usr/bin/rillcat")
set(unpacked "librill.so.0 => ${root}/usr/bin/../${LIBDIR}/librill.so.0")
string(FIND "${step_output}" "${unpacked}" at)
if(at LESS 0)
    message(FATAL_ERROR "package check: rillcat does not load ${unpacked}:\n${step_output}")
endif()

# 4. CMake, against the unpacked tree alone.
rill_check_cmake_consumer("${root}/usr")

message(STATUS "package check: passed")
