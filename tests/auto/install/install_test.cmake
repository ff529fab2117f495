# Run by ctest as: cmake -D... -P install_test.cmake (see CMakeLists.txt).
#   1. cmake --install RILL_BUILD_DIR into WORK_DIR/staging, check what a user needs is there
#   2. move the whole tree to WORK_DIR/moved/prefix: everything below must work from there
#   3. run bin/rillcat --help with an empty environment (env -i): RPATHs, not LD_LIBRARY_PATH
#   4. CMake: consumer/ with find_package(Rill COMPONENTS Core Models Quick), built and run;
#      the versions it was compiled with and runs with are project()'s
#   5. CMake: a required component that is not installed fails, naming it
#   6. qmake: consumer/consumer.pro with PKGCONFIG += rill, built and run
#   7. pkg-config alone: c++ main.cpp $(pkg-config --cflags --libs rill), built and run
# Any failing step fails the test with its output.
cmake_minimum_required(VERSION 3.22)

foreach(var RILL_BUILD_DIR RILL_VERSION WORK_DIR CONSUMER_SOURCE_DIR GENERATOR LIBDIR)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "install test: ${var} is not set")
    endif()
endforeach()

set(staging "${WORK_DIR}/staging")
set(prefix "${WORK_DIR}/moved/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/moved")

# run(<step name> <command...>): runs the command, fails the test if it fails.
function(run step)
    message(STATUS "install test: ${step}")
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE rc
        OUTPUT_VARIABLE out
        ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "install test: ${step} failed (${rc})\n"
                            "command: ${ARGN}\n--- stdout\n${out}\n--- stderr\n${err}")
    endif()
    set(step_output "${out}" PARENT_SCOPE)
endfunction()

# expect(<what> <text> <regex>)
function(expect what text regex)
    if(NOT text MATCHES "${regex}")
        message(FATAL_ERROR "install test: ${what}: expected to match \"${regex}\", got:\n${text}")
    endif()
endfunction()

# A consumer built against a sanitized library must load the sanitizer runtime first.
set(sanitize_flags)
if(CONSUMER_SANITIZE)
    set(sanitize_flags -fsanitize=address,undefined)
endif()

# 1. Install, and check the files a user needs.
set(config_args)
if(BUILD_TYPE)
    list(APPEND config_args --config "${BUILD_TYPE}")
endif()
run("cmake --install" "${CMAKE_COMMAND}" --install "${RILL_BUILD_DIR}" --prefix "${staging}" ${config_args})
foreach(file
        include/rill/global.h include/rill/flow.h include/rill/pipeflow.h include/rill/version.h
        include/rill/transport.h include/rill/deviceflow.h include/rill/descriptorflow.h
        include/rill/flowtext.h include/rill/datalog.h include/rill/quick/inspector.h
        bin/rillcat
        ${LIBDIR}/librill.so ${LIBDIR}/librill-models.so ${LIBDIR}/librill-quick.so
        ${LIBDIR}/pkgconfig/rill.pc ${LIBDIR}/pkgconfig/rill-models.pc
        ${LIBDIR}/pkgconfig/rill-quick.pc
        ${LIBDIR}/cmake/Rill/RillConfig.cmake ${LIBDIR}/cmake/Rill/RillConfigVersion.cmake
        ${LIBDIR}/cmake/Rill/RillComponentCore.cmake ${LIBDIR}/cmake/Rill/RillCoreTargets.cmake
        ${LIBDIR}/cmake/Rill/RillComponentModels.cmake ${LIBDIR}/cmake/Rill/RillModelsTargets.cmake
        ${LIBDIR}/cmake/Rill/RillComponentQuick.cmake ${LIBDIR}/cmake/Rill/RillQuickTargets.cmake
        ${LIBDIR}/qt6/qml/Rill/qmldir)
    if(NOT EXISTS "${staging}/${file}")
        message(FATAL_ERROR "install test: ${file} was not installed")
    endif()
endforeach()
file(READ "${staging}/include/rill/version.h" version_h)
expect("version.h" "${version_h}" "#define RILL_VERSION_STR \"${RILL_VERSION}\"")

# 2. Move the tree: nothing may point at where it was installed.
file(RENAME "${staging}" "${prefix}")

# 3. An installed program runs with nothing set up: no LD_LIBRARY_PATH, no ldconfig.
run("env -i bin/rillcat --help" env -i "${prefix}/bin/rillcat" --help)
expect("rillcat --help" "${step_output}" "usage: rillcat")

# 4. CMake, with components.
set(consumer_build "${WORK_DIR}/cmake-consumer")
set(configure_args
    -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    "-DRILL_EXPECTED_PREFIX=${prefix}"
    "-DRILL_EXPECTED_VERSION=${RILL_VERSION}")
if(BUILD_TYPE)
    list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
if(CXX_COMPILER)
    list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CONSUMER_SANITIZE)
    list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${sanitize_flags}"
                               "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_flags}")
endif()
run("CMake: configure the consumer" "${CMAKE_COMMAND}" ${configure_args})
run("CMake: build the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}")
run("CMake: run the consumer" "${consumer_build}/app")
expect("the CMake consumer" "${step_output}" "rill consumer: ok")
# The version is project()'s, in the header and in the library.
expect("the version" "${step_output}"
       "compiled with ${RILL_VERSION}, runs with ${RILL_VERSION}\n")
run("CMake: run the views consumer" "${consumer_build}/views")
expect("the views consumer" "${step_output}" "rill views: ok")

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
expect("the missing component's error" "${err}"
       "Rill component Quick is not installed in .*installed components: Core, Models")

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
run("qmake: build the consumer" "${MAKE_PROGRAM}" -C "${qmake_build}")
run("qmake: run the consumer" "${qmake_build}/app")
expect("the qmake consumer" "${step_output}" "rill consumer: ok")

# 7. A plain compiler call with pkg-config's flags.
if(NOT PKG_CONFIG)
    message(FATAL_ERROR "install test: pkg-config was not found")
endif()
run("pkg-config --cflags --libs rill" "${PKG_CONFIG}" --cflags --libs rill)
string(STRIP "${step_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
if(NOT CXX_COMPILER)
    set(CXX_COMPILER c++)
endif()
# Qt's headers want position-independent code (Qt is built with -reduce-relocations).
run("pkg-config: build the consumer" "${CXX_COMPILER}" -std=c++20 -fPIC ${sanitize_flags}
    "${plain_source}/main.cpp" ${flags} -o "${WORK_DIR}/plain-app")
run("pkg-config: run the consumer" "${WORK_DIR}/plain-app")
expect("the pkg-config consumer" "${step_output}" "rill consumer: ok")

message(STATUS "install test: passed")
