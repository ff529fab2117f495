# Helpers for Rill's own CMake files: one call makes a library a component of the installed
# package Rill (CMake targets, pkg-config file, headers), one call installs a program. See
# docs/architecture.md, "Adding a library target".
include_guard(GLOBAL)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RILL_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Rill)
set(RILL_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
# Where Qt looks for QML modules when Rill is installed into Qt's prefix (<libdir>/qt6/qml, e.g.
# /usr/lib/x86_64-linux-gnu/qt6/qml on Debian); for another prefix, add it to QML_IMPORT_PATH.
set(RILL_QML_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/qt6/qml)
set(RILL_QT_MIN_VERSION 6.4)
set(_rill_helpers_dir ${CMAKE_CURRENT_LIST_DIR})

# rill_set_install_rpath(<target> <install folder, relative to the prefix>)
# The installed binary finds Rill's libraries relative to itself ($ORIGIN/../lib for a program),
# so an installed tree runs from any prefix, even after it was moved, without LD_LIBRARY_PATH.
function(rill_set_install_rpath target destination)
    file(RELATIVE_PATH to_libdir "/prefix/${destination}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    string(REGEX REPLACE "/$" "" to_libdir "${to_libdir}")
    if(to_libdir STREQUAL "")
        set(rpath "$ORIGIN")
    else()
        set(rpath "$ORIGIN/${to_libdir}")
    endif()
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "${rpath}")
endfunction()

# rill_install_program(<target>): installs a program into <bindir> (packaging component
# "programs"), finding Rill's libraries relative to itself.
function(rill_install_program target)
    rill_set_install_rpath(${target} ${CMAKE_INSTALL_BINDIR})
    install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT programs)
endfunction()

# rill_add_library(<target> COMPONENT <Name> OUTPUT_NAME <file name> DESCRIPTION <text>
#     HEADERS <public headers...> SOURCES <files...>
#     [EXPORT_DEFINE <macro defined while building it>] [EXPORT_NAME <Rill::name>]
#     [ALIASES <more Rill:: names>] [HEADER_DESTINATION <folder under include/, default rill>]
#     [PUBLIC_LIBRARIES <...>] [PRIVATE_LIBRARIES <...>]
#     [QT_COMPONENTS <Qt modules a user's build needs>] [REQUIRES <Rill components it uses>])
# A shared library Rill::<EXPORT_NAME, default COMPONENT>, built with hidden visibility, its
# public headers in ./include, its private ones in ./src; installed as component <Name> of the
# package (see rill_install_library()).
function(rill_add_library target)
    cmake_parse_arguments(ARG ""
        "COMPONENT;OUTPUT_NAME;DESCRIPTION;EXPORT_DEFINE;EXPORT_NAME;HEADER_DESTINATION"
        "HEADERS;SOURCES;ALIASES;PUBLIC_LIBRARIES;PRIVATE_LIBRARIES;QT_COMPONENTS;REQUIRES"
        ${ARGN})
    if(NOT ARG_COMPONENT OR NOT ARG_OUTPUT_NAME)
        message(FATAL_ERROR "rill_add_library(${target}): COMPONENT and OUTPUT_NAME are required")
    endif()
    add_library(${target} SHARED ${ARG_HEADERS} ${ARG_SOURCES})
    set_target_properties(${target} PROPERTIES
        OUTPUT_NAME ${ARG_OUTPUT_NAME}
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    target_compile_definitions(${target} PRIVATE ${ARG_EXPORT_DEFINE} QT_NO_CAST_FROM_ASCII QT_NO_KEYWORDS)
    target_compile_features(${target} PUBLIC cxx_std_20)
    target_include_directories(${target}
        PUBLIC
            $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
        PRIVATE src)
    target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_LIBRARIES} PRIVATE ${ARG_PRIVATE_LIBRARIES})
    set(pass)
    foreach(key EXPORT_NAME HEADER_DESTINATION DESCRIPTION)
        if(ARG_${key})
            list(APPEND pass ${key} "${ARG_${key}}")
        endif()
    endforeach()
    rill_install_library(${target} COMPONENT ${ARG_COMPONENT} ${pass}
        HEADERS ${ARG_HEADERS} ALIASES ${ARG_ALIASES}
        QT_COMPONENTS ${ARG_QT_COMPONENTS} REQUIRES ${ARG_REQUIRES})
endfunction()

# rill_install_library(<target> COMPONENT <Name> DESCRIPTION <text> [EXPORT_NAME <name>]
#     [ALIASES <names>] [HEADERS <files> [HEADER_DESTINATION <folder>]]
#     [QT_COMPONENTS <Qt modules>] [REQUIRES <Rill components>])
# Makes an existing shared library (rill_add_library() calls it; qml/ calls it for the QML
# module's library) component <Name> of the package:
#  - the alias Rill::<EXPORT_NAME> (and Rill::<each alias>) here and for find_package users;
#  - find_package(Rill COMPONENTS <Name>) loads RillComponent<Name>.cmake: the components in
#    REQUIRES first, then find_dependency(Qt6 COMPONENTS <QT_COMPONENTS>), then its own export
#    set Rill<Name>Targets.cmake;
#  - a pkg-config file named like the library (rill-models.pc for librill-models), requiring
#    the Qt modules' and the required components' .pc files, relocatable (${pcfiledir});
#  - version and SONAME from project(), and an RPATH of $ORIGIN (Rill's libraries sit together).
#  - its public headers in the API reference (cmake/RillDocs.cmake).
# Packaging components: "runtime" for the library itself, "dev" for the rest.
function(rill_install_library target)
    cmake_parse_arguments(ARG ""
        "COMPONENT;DESCRIPTION;EXPORT_NAME;HEADER_DESTINATION"
        "HEADERS;ALIASES;QT_COMPONENTS;REQUIRES"
        ${ARGN})
    if(NOT ARG_EXPORT_NAME)
        set(ARG_EXPORT_NAME ${ARG_COMPONENT})
    endif()
    if(NOT ARG_HEADER_DESTINATION)
        set(ARG_HEADER_DESTINATION rill)
    endif()
    foreach(name ${ARG_EXPORT_NAME} ${ARG_ALIASES})
        if(NOT TARGET Rill::${name})
            add_library(Rill::${name} ALIAS ${target})
        endif()
    endforeach()
    set_target_properties(${target} PROPERTIES
        EXPORT_NAME ${ARG_EXPORT_NAME}
        VERSION ${PROJECT_VERSION}
        SOVERSION ${PROJECT_VERSION_MAJOR})
    rill_set_install_rpath(${target} ${CMAKE_INSTALL_LIBDIR})

    set(export Rill${ARG_COMPONENT}Targets)
    install(TARGETS ${target} EXPORT ${export}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    if(ARG_HEADERS)
        install(FILES ${ARG_HEADERS}
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${ARG_HEADER_DESTINATION} COMPONENT dev)
        # The API reference (cmake/RillDocs.cmake) documents exactly the installed headers, and
        # names each as it is included: the folder above <HEADER_DESTINATION>/ is stripped.
        foreach(header ${ARG_HEADERS})
            get_filename_component(header ${header} ABSOLUTE)
            get_filename_component(dir ${header} DIRECTORY)
            string(REGEX REPLACE "/${ARG_HEADER_DESTINATION}$" "" include_dir "${dir}")
            set_property(GLOBAL APPEND PROPERTY RILL_DOC_HEADERS ${header})
            set_property(GLOBAL APPEND PROPERTY RILL_DOC_INCLUDE_DIRS ${include_dir})
        endforeach()
    endif()
    install(EXPORT ${export} NAMESPACE Rill:: DESTINATION ${RILL_CMAKE_INSTALL_DIR} COMPONENT dev)

    # The component's file for RillConfig.cmake.
    set(RILL_COMPONENT ${ARG_COMPONENT})
    set(RILL_COMPONENT_TARGET Rill::${ARG_EXPORT_NAME})
    # Written out, not a loop: loading a required component runs the same code again.
    set(RILL_COMPONENT_REQUIRE_CODE)
    foreach(component ${ARG_REQUIRES})
        string(APPEND RILL_COMPONENT_REQUIRE_CODE
            "_rill_find_component(${component})\n"
            "if(NOT Rill_${component}_FOUND)\n"
            "    set(Rill_${ARG_COMPONENT}_FOUND FALSE)\n"
            "    return()\n"
            "endif()\n")
    endforeach()
    set(RILL_COMPONENT_QT_COMPONENTS ${ARG_QT_COMPONENTS})
    set(RILL_COMPONENT_ALIASES ${ARG_ALIASES})
    set(component_file ${PROJECT_BINARY_DIR}/package/RillComponent${ARG_COMPONENT}.cmake)
    configure_file(${_rill_helpers_dir}/RillComponent.cmake.in ${component_file} @ONLY)
    install(FILES ${component_file} DESTINATION ${RILL_CMAKE_INSTALL_DIR} COMPONENT dev)
    set_property(GLOBAL APPEND PROPERTY RILL_COMPONENTS ${ARG_COMPONENT})

    # pkg-config: named after the library's file; the prefix is found from the .pc file itself.
    get_target_property(output_name ${target} OUTPUT_NAME)
    if(NOT output_name)
        set(output_name ${target})
    endif()
    set_property(GLOBAL PROPERTY RILL_PKGCONFIG_NAME_${ARG_COMPONENT} ${output_name})
    set(requires)
    foreach(component ${ARG_REQUIRES})
        get_property(name GLOBAL PROPERTY RILL_PKGCONFIG_NAME_${component})
        if(NOT name)
            message(FATAL_ERROR "${target}: Rill component ${component} must be added before ${ARG_COMPONENT}")
        endif()
        list(APPEND requires ${name})
    endforeach()
    foreach(module ${ARG_QT_COMPONENTS})
        list(APPEND requires Qt6${module})
    endforeach()
    list(JOIN requires " " RILL_PC_REQUIRES)
    file(RELATIVE_PATH RILL_PC_TO_PREFIX "/prefix/${RILL_PKGCONFIG_INSTALL_DIR}" "/prefix")
    string(REGEX REPLACE "/$" "" RILL_PC_TO_PREFIX "${RILL_PC_TO_PREFIX}")
    set(RILL_PC_NAME ${output_name})
    set(RILL_PC_DESCRIPTION "${ARG_DESCRIPTION}")
    set(RILL_PC_LIBRARY ${output_name})
    set(pc_file ${PROJECT_BINARY_DIR}/package/${output_name}.pc)
    configure_file(${_rill_helpers_dir}/rill.pc.in ${pc_file} @ONLY)
    install(FILES ${pc_file} DESTINATION ${RILL_PKGCONFIG_INSTALL_DIR} COMPONENT dev)
endfunction()

# rill_install_package(): RillConfig.cmake and RillConfigVersion.cmake, after every library.
function(rill_install_package)
    get_property(components GLOBAL PROPERTY RILL_COMPONENTS)
    list(JOIN components ", " RILL_COMPONENTS)
    configure_package_config_file(${_rill_helpers_dir}/RillConfig.cmake.in
        ${PROJECT_BINARY_DIR}/package/RillConfig.cmake
        INSTALL_DESTINATION ${RILL_CMAKE_INSTALL_DIR})
    # 0.x: a minor version may break what the one before offered.
    write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/RillConfigVersion.cmake
        COMPATIBILITY SameMinorVersion)
    install(FILES ${PROJECT_BINARY_DIR}/package/RillConfig.cmake
                  ${PROJECT_BINARY_DIR}/package/RillConfigVersion.cmake
            DESTINATION ${RILL_CMAKE_INSTALL_DIR} COMPONENT dev)
endfunction()
