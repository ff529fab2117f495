# Run by ctest as: cmake -D... -P install_test.cmake (see CMakeLists.txt).
#   1. cmake --install RILL_BUILD_DIR into WORK_DIR/prefix
#   2. check the installed package: headers, library, CMake config files
#   3. configure consumer/ against that prefix with find_package(Rill), build it, run it
# Any failing step fails the test with its output.
cmake_minimum_required(VERSION 3.22)

foreach(var RILL_BUILD_DIR RILL_VERSION WORK_DIR CONSUMER_SOURCE_DIR GENERATOR)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "install test: ${var} is not set")
    endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/consumer-build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

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

# 1. Install.
set(config_args)
if(BUILD_TYPE)
    list(APPEND config_args --config "${BUILD_TYPE}")
endif()
run("cmake --install" "${CMAKE_COMMAND}" --install "${RILL_BUILD_DIR}" --prefix "${prefix}" ${config_args})

# 2. What a consumer needs is there.
foreach(header global.h error.h result.h flow.h pipeflow.h)
    if(NOT EXISTS "${prefix}/include/rill/${header}")
        message(FATAL_ERROR "install test: include/rill/${header} was not installed")
    endif()
endforeach()
file(GLOB_RECURSE configs "${prefix}/*/RillConfig.cmake")
file(GLOB_RECURSE versions "${prefix}/*/RillConfigVersion.cmake")
file(GLOB_RECURSE targets "${prefix}/*/RillTargets.cmake")
file(GLOB_RECURSE libraries "${prefix}/*/librill.so*")
foreach(what configs versions targets libraries)
    if(NOT ${what})
        message(FATAL_ERROR "install test: no ${what} installed under ${prefix}")
    endif()
endforeach()

# 3. A consumer finds, builds against and runs the installed library.
set(configure_args
    -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
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
    list(APPEND configure_args "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
                               "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
endif()
run("configure the consumer" "${CMAKE_COMMAND}" ${configure_args})
run("build the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}")

set(app "${consumer_build}/app")
if(NOT EXISTS "${app}")
    message(FATAL_ERROR "install test: the consumer built no ${app}")
endif()
run("run the consumer" "${app}")
if(NOT step_output MATCHES "rill consumer: ok")
    message(FATAL_ERROR "install test: the consumer did not report success:\n${step_output}")
endif()
message(STATUS "install test: passed")
