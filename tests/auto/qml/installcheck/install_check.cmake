# Run by ctest (tst_qml_install): installs the build tree into a scratch prefix, then runs
# installed.qml with qml-installcheck, which finds module Rill through QML_IMPORT_PATH alone.
foreach(var BUILD_DIR WORK_DIR LIBDIR CHECKER QML_FILE)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "qml install check: ${var} is not set")
    endif()
endforeach()
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install failed (${rc})\n${out}\n${err}")
endif()

set(module "${prefix}/${LIBDIR}/qt6/qml/Rill")
foreach(file qmldir RillQuick.qmltypes librillquickplugin.so)
    if(NOT EXISTS "${module}/${file}")
        message(FATAL_ERROR "qml install check: ${module}/${file} was not installed")
    endif()
endforeach()

execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env "QML_IMPORT_PATH=${prefix}/${LIBDIR}/qt6/qml"
            QT_QPA_PLATFORM=offscreen --unset=LD_LIBRARY_PATH --unset=QML2_IMPORT_PATH
            "${CHECKER}" "${QML_FILE}" "${prefix}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "qml install check: ok")
    message(FATAL_ERROR "qml install check failed (${rc})\n--- stdout\n${out}\n--- stderr\n${err}")
endif()
message(STATUS "qml install check: passed")
