# The checks an installed tree must pass wherever it came from: included by install_test.cmake
# (cmake --install into a prefix, moved) and package_test.cmake (the .deb files unpacked).
# The functions read these variables of the including script: WORK_DIR, CONSUMER_SOURCE_DIR,
# GENERATOR, RILL_VERSION, RILL_CHECK_NAME, and optionally BUILD_TYPE, CXX_COMPILER,
# CONSUMER_SANITIZE.
include_guard(GLOBAL)

# A consumer built against a sanitized library must load the sanitizer runtime first.
set(sanitize_flags)
if(CONSUMER_SANITIZE)
    set(sanitize_flags -fsanitize=address,undefined)
endif()

# rill_check_run(<step name> <command...>): runs the command, fails the test if it fails; its
# output is in step_output afterwards.
function(rill_check_run step)
    message(STATUS "${RILL_CHECK_NAME}: ${step}")
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE rc
        OUTPUT_VARIABLE out
        ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${RILL_CHECK_NAME}: ${step} failed (${rc})\n"
                            "command: ${ARGN}\n--- stdout\n${out}\n--- stderr\n${err}")
    endif()
    set(step_output "${out}" PARENT_SCOPE)
endfunction()

# rill_check_expect(<what> <text> <regex>)
function(rill_check_expect what text regex)
    if(NOT text MATCHES "${regex}")
        message(FATAL_ERROR "${RILL_CHECK_NAME}: ${what}: expected to match \"${regex}\", got:\n${text}")
    endif()
endfunction()

# rill_check_rillcat(<bin folder>): an installed program runs with nothing set up (env -i: no
# LD_LIBRARY_PATH, no ldconfig), so its relative RPATH finds the libraries beside it.
function(rill_check_rillcat bindir)
    rill_check_run("env -i rillcat --help" env -i "${bindir}/rillcat" --help)
    rill_check_expect("rillcat --help" "${step_output}" "usage: rillcat")
endfunction()

# rill_check_cmake_consumer(<prefix>): consumer/ with find_package(Rill COMPONENTS Core Models
# Quick Test Http) against <prefix> alone, built and run (kit: a QTest suite on Rill::Test); the
# versions it was compiled with and runs with are project()'s.
function(rill_check_cmake_consumer prefix)
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
    if(sanitize_flags)
        list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${sanitize_flags}"
                                   "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_flags}")
    endif()
    rill_check_run("CMake: configure the consumer" "${CMAKE_COMMAND}" ${configure_args})
    rill_check_run("CMake: build the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}")
    rill_check_run("CMake: run the consumer" "${consumer_build}/app")
    rill_check_expect("the CMake consumer" "${step_output}" "rill consumer: ok")
    # The version is project()'s, in the header and in the library.
    rill_check_expect("the version" "${step_output}"
                      "compiled with ${RILL_VERSION}, runs with ${RILL_VERSION}\n")
    rill_check_run("CMake: run the views consumer" "${consumer_build}/views")
    rill_check_expect("the views consumer" "${step_output}" "rill views: ok")
    # Rill::Test: a QTest suite of a user's line protocol under every fault mode.
    rill_check_run("CMake: run the test kit consumer" "${consumer_build}/kit")
    rill_check_expect("the test kit consumer" "${step_output}" "Totals: [0-9]+ passed, 0 failed")
    rill_check_run("CMake: run the http consumer" "${consumer_build}/http")
    rill_check_expect("the http consumer" "${step_output}" "rill http: ok")
endfunction()

# rill_check_installed_files(<prefix> [<more files>...]): the files a user needs are there
# (LIBDIR: the library folder relative to the prefix), and version.h has project()'s version.
function(rill_check_installed_files prefix)
    foreach(file
            include/rill/global.h include/rill/flow.h include/rill/pipeflow.h include/rill/version.h
            include/rill/transport.h include/rill/deviceflow.h include/rill/descriptorflow.h
            include/rill/tlsflow.h
            include/rill/flowtext.h include/rill/datalog.h include/rill/quick/inspector.h
            include/rill/test/faultyflow.h include/rill/test/scriptedflow.h
            include/rill/test/qtesthelpers.h
            include/rill/http/server.h include/rill/http/client.h include/rill/http/message.h
            bin/rillcat bin/rillhttp ${LIBDIR}/librill-http.so ${LIBDIR}/pkgconfig/rill-http.pc
            ${LIBDIR}/cmake/Rill/RillComponentHttp.cmake ${LIBDIR}/cmake/Rill/RillHttpTargets.cmake
            ${LIBDIR}/librill.so ${LIBDIR}/librill-models.so ${LIBDIR}/librill-quick.so
            ${LIBDIR}/librill-test.so ${LIBDIR}/pkgconfig/rill-test.pc
            ${LIBDIR}/pkgconfig/rill.pc ${LIBDIR}/pkgconfig/rill-models.pc
            ${LIBDIR}/pkgconfig/rill-quick.pc
            ${LIBDIR}/cmake/Rill/RillConfig.cmake ${LIBDIR}/cmake/Rill/RillConfigVersion.cmake
            ${LIBDIR}/cmake/Rill/RillComponentCore.cmake ${LIBDIR}/cmake/Rill/RillCoreTargets.cmake
            ${LIBDIR}/cmake/Rill/RillComponentModels.cmake ${LIBDIR}/cmake/Rill/RillModelsTargets.cmake
            ${LIBDIR}/cmake/Rill/RillComponentQuick.cmake ${LIBDIR}/cmake/Rill/RillQuickTargets.cmake
            ${LIBDIR}/cmake/Rill/RillComponentTest.cmake ${LIBDIR}/cmake/Rill/RillTestTargets.cmake
            ${LIBDIR}/qt6/qml/Rill/qmldir
            ${ARGN})
        if(NOT EXISTS "${prefix}/${file}")
            message(FATAL_ERROR "${RILL_CHECK_NAME}: ${file} was not installed")
        endif()
    endforeach()
    file(READ "${prefix}/include/rill/version.h" version_h)
    rill_check_expect("version.h" "${version_h}" "#define RILL_VERSION_STR \"${RILL_VERSION}\"")
endfunction()
