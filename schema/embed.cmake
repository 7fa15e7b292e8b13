# Turns the schema migrations into a C++ source file (run at build time by schema/CMakeLists.txt).
#   cmake -DOUT=<file.cpp> -DFILES=<a.sql;b.sql;...> -P embed.cmake
# Each file NNNN_name.sql becomes {NNNN, "name", bytes}. Versions must run 1, 2, 3... with
# no gap, so the build fails rather than ship a schema with a hole in it.
set(body "")
set(table "")
set(expected 1)
foreach(f IN LISTS FILES)
  get_filename_component(base "${f}" NAME_WE)
  if(NOT base MATCHES "^([0-9][0-9][0-9][0-9])_(.+)$")
    message(FATAL_ERROR "schema file ${f}: name must be NNNN_name.sql")
  endif()
  set(name "${CMAKE_MATCH_2}")
  math(EXPR version "${CMAKE_MATCH_1}")  # strips the leading zeros
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "schema file ${f}: expected migration ${expected}, found ${version}")
  endif()
  file(READ "${f}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "constexpr char kSql${version}[] = {${bytes}'\\0'};\n")
  string(APPEND table "    {${version}, \"${name}\", std::string_view(kSql${version}, sizeof kSql${version} - 1)},\n")
  math(EXPR expected "${expected} + 1")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from schema/*.sql by schema/embed.cmake. Do not edit.\n"
  "#include \"schema/schema.hpp\"\n\nnamespace pathtrace::schema {\nnamespace {\n${body}"
  "constexpr Migration kMigrations[] = {\n${table}};\n}  // namespace\n\n"
  "std::span<const Migration> migrations() noexcept { return kMigrations; }\n\n"
  "}  // namespace pathtrace::schema\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
