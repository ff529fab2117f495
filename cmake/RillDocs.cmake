# The API reference (option RILL_BUILD_DOCS): Doxygen reads the /// comments of every
# component's public headers and writes HTML and a Qt Help project, which qhelpgenerator turns
# into rill.qch for Qt Creator and Qt Assistant. Target "docs"; a Doxygen warning (an
# undocumented public symbol, a broken reference) fails it. Installed as packaging component
# "docs": the HTML in share/doc/rill/html, rill.qch in Qt's documentation folder (share/qt6/doc,
# where Qt Creator finds it by itself when Rill shares Qt's prefix) and beside the HTML.
#
# rill_add_library() and rill_install_library() register each component's public headers here
# (the global property RILL_DOC_HEADERS); call rill_add_docs() once after every library.

# Script mode, run by the docs target between doxygen and qhelpgenerator:
#   cmake -DRILL_DOCS_DIR=<build>/docs -P RillDocs.cmake
if(CMAKE_SCRIPT_MODE_FILE)
    cmake_minimum_required(VERSION 3.22)
    # Doxygen 1.9 does not warn about undocumented enum values: find them in its XML output.
    file(GLOB xml_files "${RILL_DOCS_DIR}/xml/*.xml")
    set(undocumented)
    foreach(xml_file ${xml_files})
        file(READ "${xml_file}" xml)
        string(REGEX MATCHALL "<enumvalue id=\"[^\"]*\" prot=\"public\"[^>]*>[ \t\r\n]*<name>[^<]*</name>([ \t\r\n]*<initializer>[^<]*</initializer>)?[ \t\r\n]*<briefdescription>[ \t\r\n]*</briefdescription>[ \t\r\n]*<detaileddescription>[ \t\r\n]*</detaileddescription>"
               values "${xml}")
        foreach(value ${values})
            string(REGEX REPLACE ".*<name>([^<]*)</name>.*" "\\1" name "${value}")
            get_filename_component(compound "${xml_file}" NAME_WE)
            list(APPEND undocumented "${compound}: ${name}")
        endforeach()
    endforeach()
    if(undocumented)
        list(JOIN undocumented "\n  " undocumented)
        message(FATAL_ERROR "undocumented enum values:\n  ${undocumented}")
    endif()
    # Doxygen 1.9 gives every keyword of the Qt Help index the id "<qualified name>_<anchor>",
    # but Qt Creator's F1 looks up the plain qualified name (rill::Flow::read). The first keyword
    # of each name gets it, functions before the rest (the getter, not its property); the others
    # (overloads) keep theirs, since qhelpgenerator drops a keyword whose id is taken.
    set(qhp "${RILL_DOCS_DIR}/html/index.qhp")
    file(READ "${qhp}" text)
    string(REPLACE ";" "@semicolon@" text "${text}") # "&amp;" would split CMake's lists
    string(REGEX MATCHALL "<keyword [^>]*/>" keywords "${text}")
    set(taken)
    foreach(functions IN ITEMS TRUE FALSE)
        foreach(keyword IN LISTS keywords)
            set(is_function FALSE)
            if(keyword MATCHES " name=\"[^\"]*\\(")
                set(is_function TRUE)
            endif()
            if(NOT is_function STREQUAL functions
               OR NOT keyword MATCHES " id=\"([^\"]*)_(a[0-9a-f]+)?\"")
                continue()
            endif()
            set(id "${CMAKE_MATCH_1}")
            if(NOT id IN_LIST taken)
                list(APPEND taken "${id}")
                string(REGEX REPLACE " id=\"[^\"]*\"" " id=\"${id}\"" plain "${keyword}")
                string(REPLACE "${keyword}" "${plain}" text "${text}")
            endif()
        endforeach()
    endforeach()
    string(REPLACE "@semicolon@" ";" text "${text}")
    file(WRITE "${qhp}" "${text}")
    return()
endif()

include_guard(GLOBAL)

# The folder of Qt's own .qch files, relative to the prefix (/usr/share/qt6/doc on Debian).
set(RILL_QCH_INSTALL_DIR ${CMAKE_INSTALL_DATAROOTDIR}/qt6/doc)
set(RILL_DOC_INSTALL_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/rill)

function(rill_add_docs)
    find_program(RILL_DOXYGEN doxygen)
    find_program(RILL_QHELPGENERATOR qhelpgenerator
        HINTS "${QT6_INSTALL_PREFIX}/${QT6_INSTALL_LIBEXECS}" /usr/lib/qt6/libexec
        PATHS /usr/lib/qt6/bin)
    if(NOT RILL_DOXYGEN OR NOT RILL_QHELPGENERATOR)
        message(FATAL_ERROR "RILL_BUILD_DOCS needs doxygen and qhelpgenerator "
                            "(Debian: doxygen qt6-documentation-tools; ./dev docs installs them)")
    endif()

    get_property(headers GLOBAL PROPERTY RILL_DOC_HEADERS)
    get_property(include_dirs GLOBAL PROPERTY RILL_DOC_INCLUDE_DIRS)
    list(REMOVE_DUPLICATES include_dirs)
    set(mainpage ${PROJECT_SOURCE_DIR}/docs/reference/mainpage.md)
    set(out ${PROJECT_BINARY_DIR}/docs)
    set(RILL_DOCS_OUTPUT_DIR ${out})
    set(RILL_DOCS_MAINPAGE ${mainpage})
    # Quoted, one per line: Doxygen's list syntax.
    list(TRANSFORM headers REPLACE "(.+)" "\"\\1\"" OUTPUT_VARIABLE quoted)
    list(JOIN quoted " \\\n                         " RILL_DOCS_INPUT)
    string(APPEND RILL_DOCS_INPUT " \\\n                         \"${mainpage}\"")
    # "#include <rill/flow.h>", not the path in the source tree.
    list(TRANSFORM include_dirs REPLACE "(.+)" "\"\\1\"" OUTPUT_VARIABLE quoted)
    list(JOIN quoted " " RILL_DOCS_STRIP_PATHS)
    configure_file(${PROJECT_SOURCE_DIR}/docs/reference/Doxyfile.in ${out}/Doxyfile @ONLY)

    add_custom_command(
        OUTPUT ${out}/rill.qch ${out}/html/index.html
        COMMAND ${CMAKE_COMMAND} -E rm -rf ${out}/html ${out}/xml
        COMMAND ${RILL_DOXYGEN} ${out}/Doxyfile
        COMMAND ${CMAKE_COMMAND} -DRILL_DOCS_DIR=${out} -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
        COMMAND ${RILL_QHELPGENERATOR} ${out}/html/index.qhp -o ${out}/rill.qch
        DEPENDS ${headers} ${mainpage} ${out}/Doxyfile ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
        WORKING_DIRECTORY ${out}
        COMMENT "API reference: Doxygen (HTML) and qhelpgenerator (rill.qch)"
        VERBATIM)
    add_custom_target(docs ALL DEPENDS ${out}/rill.qch)

    install(DIRECTORY ${out}/html/ DESTINATION ${RILL_DOC_INSTALL_DIR}/html COMPONENT docs
        PATTERN "index.qhp" EXCLUDE)
    install(FILES ${out}/rill.qch DESTINATION ${RILL_QCH_INSTALL_DIR} COMPONENT docs)
    # Beside the HTML as well, as a relative link: one file, found from both places.
    file(RELATIVE_PATH to_qch "/prefix/${RILL_DOC_INSTALL_DIR}" "/prefix/${RILL_QCH_INSTALL_DIR}/rill.qch")
    file(CREATE_LINK ${to_qch} ${out}/rill.qch.link SYMBOLIC)
    install(FILES ${out}/rill.qch.link DESTINATION ${RILL_DOC_INSTALL_DIR} RENAME rill.qch
        COMPONENT docs)
endfunction()
