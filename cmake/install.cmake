# Installing pathtrace and packaging it (cmake --install, cpack -G DEB).
#
#   bin/pathtrace
#   share/man/man1/pathtrace.1                    generated from the option tables
#   share/bash-completion/completions/pathtrace   (`pathtrace --generate man|bash|zsh`)
#   share/zsh/vendor-completions/_pathtrace
#   share/doc/pathtrace/  README, docs/*.md, examples/ (inventories)
include(GNUInstallDirs)

set(pt_gen ${CMAKE_BINARY_DIR}/generated)
foreach(kind man bash zsh)
  if(kind STREQUAL "man")
    set(out ${pt_gen}/pathtrace.1)
  elseif(kind STREQUAL "bash")
    set(out ${pt_gen}/pathtrace.bash)
  else()
    set(out ${pt_gen}/_pathtrace)
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${pt_gen}
    COMMAND $<TARGET_FILE:pathtrace> --generate ${kind} > ${out}
    DEPENDS pathtrace
    COMMENT "Generating ${out} from the option tables"
    VERBATIM)
  list(APPEND pt_generated ${out})
endforeach()
add_custom_target(pathtrace_docs ALL DEPENDS ${pt_generated})

install(TARGETS pathtrace RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${pt_gen}/pathtrace.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${pt_gen}/pathtrace.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME pathtrace)
install(FILES ${pt_gen}/_pathtrace DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY docs/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_PACKAGE_NAME pathtrace)
set(CPACK_PACKAGE_VENDOR "pathtrace")
set(CPACK_PACKAGE_CONTACT "pathtrace maintainers <maintainers@pathtrace.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "where along the path did my packets vanish? multi-point packet capture correlator")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends from the binary's own libraries (dpkg-shlibdeps): libc6, libpcap0.8, libsqlite3-0,
# libstdc++6, libgcc-s1, libxxhash0.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "tcpdump, openssh-client, sqlite3")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Captures (or reads captures) at named points along a network path, recognises the same\npacket at every point by an invariant digest, stores every sighting in SQLite and says\nat which hop each flow disappears, with numbers per point and per hop.")
set(CPACK_STRIP_FILES ON)
include(CPack)
