#pragma once
// The schema migrations, embedded at build time from schema/NNNN_name.sql (the only source
// of the schema). Migration N takes a database from PRAGMA user_version N-1 to N.

#include <span>
#include <string_view>

namespace pathtrace::schema {

// One migration file: its version (NNNN), its name, and its SQL text.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// All migrations in order: migrations()[i].version == i + 1. Never empty.
std::span<const Migration> migrations() noexcept;

// The newest schema version this build knows (the last migration's version).
inline int latest_version() noexcept { return migrations().back().version; }

}  // namespace pathtrace::schema
