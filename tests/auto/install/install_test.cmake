# Run by ctest as: cmake -D... -P install_test.cmake (see CMakeLists.txt).
#   1. cmake --install RILL_BUILD_DIR into WORK_DIR/staging, check what a user needs is there
#   2. move the whole tree to WORK_DIR/moved/prefix: everything below must work from there
#   3. run bin/rillcat --help with an empty environment (env -i): RPATHs, not LD_LIBRARY_PATH
#   4. CMake: consumer/ with find_package(Rill COMPONENTS Core Models Quick Test Http), built and run
#      (kit: a QTest suite on Rill::Test);
#      the versions it was compiled with and runs with are project()'s
#   5. CMake: a required component that is not installed fails, naming it
#   6. qmake: consumer/consumer.pro with PKGCONFIG += rill, built and run
#   7. pkg-config alone: c++ main.cpp $(pkg-config --cflags --libs rill), built and run
#   8. pkg-config --libs rill-test names Rill::Test's library and what it needs
#   9. pkg-config --libs rill-http names Rill::Http's library and what it needs
# Any failing step fails the test with its output. Steps 1 (the files), 3 and 4 are shared with ./dev package's
# check of the .deb files (checks.cmake).
cmake_minimum_required(VERSION 3.22)
include(${CMAKE_CURRENT_LIST_DIR}/checks.cmake)
set(RILL_CHECK_NAME "install test")

foreach(var RILL_BUILD_DIR RILL_VERSION WORK_DIR CONSUMER_SOURCE_DIR GENERATOR LIBDIR)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "install test: ${var} is not set")
    endif()
endforeach()

set(staging "${WORK_DIR}/staging")
set(prefix "${WORK_DIR}/moved/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/moved")

# 1. Install, and check the files a user needs.
set(config_args)
if(BUILD_TYPE)
    list(APPEND config_args --config "${BUILD_TYPE}")
endif()
rill_check_run("cmake --install"
    "${CMAKE_COMMAND}" --install "${RILL_BUILD_DIR}" --prefix "${staging}" ${config_args})
rill_check_installed_files("${staging}")

# 2. Move the tree: nothing may point at where it was installed.
file(RENAME "${staging}" "${prefix}")

# 3. An installed program runs with nothing set up: no LD_LIBRARY_PATH, no ldconfig.
rill_check_rillcat("${prefix}/bin")

# 4. CMake, with components.
rill_check_cmake_consumer("${prefix}")

# 5. A required component that is not installed: the error names it.
set(missing_source "${WORK_DIR}/missing-source")
file(MAKE_DIRECTORY "${missing_source}")
file(WRITE "${missing_source}/CMakeLists.txt"
    "cmake_minimum_required(VERSION 3.22)\n"
    "project(RillMissing LANGUAGES CXX)\n"
    "find_package(Rill REQUIRED COMPONENTS Core Quick)\n")
set(quick_file "${prefix}/${LIBDIR}/cmake/Rill/RillComponentQuick.cmake")
file(RENAME "${quick_file}" "${quick_file}.hidden")
execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${missing_source}" -B "${WORK_DIR}/missing-build"
            -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(RENAME "${quick_file}.hidden" "${quick_file}")
if(rc EQUAL 0)
    message(FATAL_ERROR "install test: asking for a component that is not installed succeeded:\n${out}")
endif()
string(REGEX REPLACE "[ \t\r\n]+" " " err "${err}") # CMake wraps the message
rill_check_expect("the missing component's error" "${err}"
       "Rill component Quick is not installed in .*installed components: Core, Http, Models")

# The consumer's main.cpp alone, for the builds that do not use CMake.
set(plain_source "${WORK_DIR}/plain-source")
file(MAKE_DIRECTORY "${plain_source}")
file(COPY "${CONSUMER_SOURCE_DIR}/main.cpp" "${CONSUMER_SOURCE_DIR}/consumer.pro"
     DESTINATION "${plain_source}")
set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
set(ENV{LD_LIBRARY_PATH} "${prefix}/${LIBDIR}") # these consumers set no RPATH of their own

# 6. qmake, through pkg-config.
if(NOT QMAKE OR NOT MAKE_PROGRAM)
    message(FATAL_ERROR "install test: qmake6 or make was not found (./dev deps installs them)")
endif()
set(qmake_build "${WORK_DIR}/qmake-consumer")
file(MAKE_DIRECTORY "${qmake_build}")
set(qmake_args)
if(CONSUMER_SANITIZE)
    list(APPEND qmake_args "QMAKE_CXXFLAGS+=${sanitize_flags}" "QMAKE_LFLAGS+=${sanitize_flags}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E chdir "${qmake_build}"
    "${QMAKE}" "${plain_source}/consumer.pro" ${qmake_args}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: qmake failed (${rc})\n${out}\n${err}")
endif()
rill_check_run("qmake: build the consumer" "${MAKE_PROGRAM}" -C "${qmake_build}")
rill_check_run("qmake: run the consumer" "${qmake_build}/app")
rill_check_expect("the qmake consumer" "${step_output}" "rill consumer: ok")

# 7. A plain compiler call with pkg-config's flags.
if(NOT PKG_CONFIG)
    message(FATAL_ERROR "install test: pkg-config was not found")
endif()
rill_check_run("pkg-config --cflags --libs rill" "${PKG_CONFIG}" --cflags --libs rill)
string(STRIP "${step_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
if(NOT CXX_COMPILER)
    set(CXX_COMPILER c++)
endif()
# Qt's headers want position-independent code (Qt is built with -reduce-relocations).
rill_check_run("pkg-config: build the consumer" "${CXX_COMPILER}" -std=c++20 -fPIC ${sanitize_flags}
    "${plain_source}/main.cpp" ${flags} -o "${WORK_DIR}/plain-app")
rill_check_run("pkg-config: run the consumer" "${WORK_DIR}/plain-app")
rill_check_expect("the pkg-config consumer" "${step_output}" "rill consumer: ok")

# 8. rill-test.pc brings Qt6Test and rill along.
rill_check_run("pkg-config --cflags --libs rill-test" "${PKG_CONFIG}" --cflags --libs rill-test)
rill_check_expect("rill-test.pc" "${step_output}" "-lrill-test .*-lrill .*-lQt6Test")
# 9. rill-http.pc brings rill and Qt6Network along (llhttp is inside librill-http).
rill_check_run("pkg-config --cflags --libs rill-http" "${PKG_CONFIG}" --cflags --libs rill-http)
rill_check_expect("rill-http.pc" "${step_output}" "-lrill-http .*-lrill .*-lQt6Network")

message(STATUS "install test: passed")
