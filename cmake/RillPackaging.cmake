# Debian packages with CPack (option RILL_BUILD_PACKAGES; ./dev package): one package per
# packaging component of install(), the install prefix /usr.
#
#   component  package           what
#   runtime    librill0          the shared libraries: librill, librill-models, librill-quick,
#                                librill-test, librill-http
#   dev        librill-dev       headers, CMake package, pkg-config files
#   programs   rill-tools        rillcat, rillhttp, rill-inspector (desktop file, icons), rill-demo
#   qml        qml6-module-rill  the QML module Rill (plugin, qmldir, types)
#   docs       rill-doc          the API reference: HTML and rill.qch
#
# Dependencies on other packages come from the binaries (dpkg-shlibdeps); between Rill's own
# packages they are exact (= version). Target check-packages checks the result
# (tests/auto/install/package_test.cmake). A new library target installs into runtime and dev
# (rill_add_library() does it) and so lands in librill0 and librill-dev; a new program calls
# rill_install_program() and lands in rill-tools.
include_guard(GLOBAL)

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    # GNUInstallDirs picks Debian's multiarch library folder only for /usr.
    message(FATAL_ERROR "RILL_BUILD_PACKAGES needs -DCMAKE_INSTALL_PREFIX=/usr "
                        "(it is ${CMAKE_INSTALL_PREFIX})")
endif()
if(NOT RILL_BUILD_DOCS OR NOT RILL_BUILD_APPS)
    message(FATAL_ERROR "RILL_BUILD_PACKAGES needs RILL_BUILD_DOCS and RILL_BUILD_APPS "
                        "(packages rill-doc and rill-tools)")
endif()

set(RILL_DEB_MAINTAINER "The Rill authors <rill@example.org>" CACHE STRING
    "The Maintainer field of the Debian packages")
set(RILL_DEB_RELEASE 1 CACHE STRING "The Debian revision of the packages")
set(RILL_DEB_VERSION ${PROJECT_VERSION}-${RILL_DEB_RELEASE})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rill)
set(CPACK_PACKAGE_VENDOR "The Rill authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${RILL_DEB_MAINTAINER}")
# Each package's description starts with its own summary line. CPack would put any summary but
# its default in front of them all, so the summary is CPack's default.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
# The binaries are built with debug information (RelWithDebInfo); the packages carry none.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev programs qml docs)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${RILL_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${RILL_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps must find Rill's own libraries for the programs and the plugin, in the build
# tree; they belong to no installed package, so their dependency is the exact one below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    ${PROJECT_BINARY_DIR}/lib ${PROJECT_BINARY_DIR}/lib/models ${PROJECT_BINARY_DIR}/lib/test
    ${PROJECT_BINARY_DIR}/lib/http ${PROJECT_BINARY_DIR}/qml)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

# runtime: its shlibs file lets packages built against it depend on it; the libraries are
# found by ldconfig's trigger.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME librill0)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON) # only a package with libraries gets the file
# ldconfig runs once at the end of an installation (CPack's own ldconfig calls stay).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Its policy is CPack's "=": in 0.x a minor version may break the ABI (RillConfigVersion:
# SameMinorVersion) while the SONAME, librill.so.0, stays; so a package built against this
# version depends on exactly it.
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "Rill: MirageOS-style flows for Qt 6 (libraries)
Byte streams whose read, write, shutdown and close return QFutures, with
half-close in both directions and a bounded send queue: TCP, Unix sockets and
in-memory pipes, listeners, framing (Channel), copy and proxy; models for
views of flows; the library of the QML module Rill; scripted and
fault-injecting flows for QTest suites; HTTP/1.1 client and server over any
flow.

This package holds the shared libraries librill, librill-models,
librill-quick, librill-test and librill-http.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME librill-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "qt6-base-dev, qt6-declarative-dev, libqt6opengl6-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "rill-doc")
set(CPACK_COMPONENT_DEV_DESCRIPTION "Rill: MirageOS-style flows for Qt 6 (development files)
Headers, the CMake package Rill (find_package(Rill COMPONENTS Core Models
Quick Test Http)) and the pkg-config files rill, rill-models, rill-quick,
rill-test and rill-http, for CMake, qmake and Meson projects.")

set(CPACK_DEBIAN_PROGRAMS_PACKAGE_NAME rill-tools)
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_SECTION net)
set(CPACK_COMPONENT_PROGRAMS_DEPENDS runtime)
# rill-inspector --quick shows the QML view, which imports these.
string(JOIN ", " CPACK_DEBIAN_PROGRAMS_PACKAGE_RECOMMENDS
    qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts
    qml6-module-qtquick-templates qml6-module-qtquick-window qml6-module-qtqml-models)
set(CPACK_COMPONENT_PROGRAMS_DESCRIPTION "Rill: MirageOS-style flows for Qt 6 (programs)
rillcat, a netcat on flows with true half-close; rillhttp, an HTTP/1.1 client
and static file server over TCP and Unix sockets; rill-inspector, which shows
flows live (state, queues, write ledger, data); rill-demo, two piped flows
printing every change.")

set(CPACK_DEBIAN_QML_PACKAGE_NAME qml6-module-rill)
set(CPACK_DEBIAN_QML_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_QML_DEPENDS runtime)
# The module's DEPENDENCIES (qml/CMakeLists.txt).
string(JOIN ", " CPACK_DEBIAN_QML_PACKAGE_DEPENDS
    qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts
    qml6-module-qtqml-models)
set(CPACK_COMPONENT_QML_DESCRIPTION "Rill: MirageOS-style flows for Qt 6 (QML module)
The QML module Rill (import Rill): TcpFlow, LocalFlow, TcpListener,
LocalListener, FlowModel and the inspector's InspectorView.")

set(CPACK_DEBIAN_DOCS_PACKAGE_NAME rill-doc)
set(CPACK_DEBIAN_DOCS_PACKAGE_SECTION doc)
set(CPACK_DEBIAN_DOCS_PACKAGE_ARCHITECTURE all)
set(CPACK_COMPONENT_DOCS_DESCRIPTION "Rill: MirageOS-style flows for Qt 6 (API reference)
The API reference as HTML (/usr/share/doc/rill/html) and as a Qt Help file,
/usr/share/qt6/doc/rill.qch, which Qt Creator and Qt Assistant load: F1 on a
Rill symbol opens its page.")

# Every package carries its copyright file and changelog in /usr/share/doc/<package>.
string(TIMESTAMP RILL_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC) # honours SOURCE_DATE_EPOCH
set(debian_dir ${PROJECT_BINARY_DIR}/debian)
configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/copyright.in ${debian_dir}/copyright @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/changelog.in ${debian_dir}/changelog.Debian @ONLY)
# gzip -9n: what Debian's tools do (no name or time stamp in the file).
execute_process(COMMAND gzip -9nc ${debian_dir}/changelog.Debian
    OUTPUT_FILE ${debian_dir}/changelog.Debian.gz RESULT_VARIABLE gzip_result)
if(NOT gzip_result EQUAL 0)
    message(FATAL_ERROR "gzip ${debian_dir}/changelog.Debian failed")
endif()
foreach(component ${CPACK_COMPONENTS_ALL})
    string(TOUPPER ${component} upper)
    install(FILES ${debian_dir}/copyright ${debian_dir}/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_DEBIAN_${upper}_PACKAGE_NAME}
        COMPONENT ${component})
endforeach()

include(CPack)

# check-packages: the packages as a user gets them (tests/auto/install/package_test.cmake).
add_custom_target(check-packages
    COMMAND ${CMAKE_COMMAND}
        "-DPACKAGE_DIR=${CPACK_PACKAGE_DIRECTORY}"
        "-DRILL_VERSION=${PROJECT_VERSION}"
        "-DWORK_DIR=${PROJECT_BINARY_DIR}/package-check"
        "-DCONSUMER_SOURCE_DIR=${PROJECT_SOURCE_DIR}/tests/auto/install/consumer"
        "-DGENERATOR=${CMAKE_GENERATOR}"
        "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
        "-DBUILD_TYPE=${CMAKE_BUILD_TYPE}"
        "-DLIBDIR=${CMAKE_INSTALL_LIBDIR}"
        -P ${PROJECT_SOURCE_DIR}/tests/auto/install/package_test.cmake
    COMMENT "Checking the .deb files in ${CPACK_PACKAGE_DIRECTORY}"
    VERBATIM USES_TERMINAL)
