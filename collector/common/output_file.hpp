#pragma once
// The one way pathtrace creates a file for its output (the database, `report --html`,
// `export -w`, the pcap writers): owner-only (0600), never through a symbolic link, never over
// a file that is there unless asked (--force), never half-written.
//
//   OutputFile("out.pcapng", replace) ──▶ out.pcapng.XXXXXX (O_CREAT|O_EXCL|O_NOFOLLOW, 0600)
//        write through stream() …      ──commit()──▶ rename onto out.pcapng (a link there is
//        destroyed without commit()    ──▶ the temporary file is removed      replaced, not followed)
//
// Errors throw Error(kUsage) naming the file (docs/cli.md, "Exit codes": an output file that
// exists, cannot be created or cannot be written is a usage error).

#include <cstdio>
#include <string>

#include "collector/common/fd.hpp"

namespace pathtrace {

// Creates `path` as a new, empty file with mode 0600: O_CREAT|O_EXCL|O_NOFOLLOW, so neither a
// file nor a symbolic link already at `path` is ever opened. Returns the descriptor, or an
// empty UniqueFd with errno set (EEXIST when anything is there).
UniqueFd create_new_file(const std::string& path) noexcept;

// What an OutputFile does with a file already at its path.
enum class Existing : bool {
  kRefuse,   // an error, before anything is written: "FILE exists (--force replaces it)"
  kReplace,  // replaced at commit() (a symbolic link is replaced itself, its target untouched)
};

// Throws what OutputFile(path, existing) throws when `path` is taken: "FILE: is a directory",
// "FILE: exists (--force replaces it)" (kRefuse). For a caller that creates the file later.
void check_output_path(const std::string& path, Existing existing);

// A file being written: a temporary file beside `path`, renamed onto it by commit().
class OutputFile {
 public:
  // Creates the temporary file. Throws Error(kUsage) "FILE: exists (--force replaces it)"
  // (kRefuse and anything at `path`, a dangling link too), "FILE: is a directory", or
  // "FILE: cannot create: <why>" (no such folder, no permission).
  OutputFile(std::string path, Existing existing);
  // Removes the temporary file unless commit() was called.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // The buffered stream to write to (owned; valid until commit()).
  std::FILE* stream() noexcept { return f_; }
  // The file as named by the caller.
  const std::string& path() const noexcept { return path_; }
  // Flushes, syncs and closes the stream and puts the file at its path. Throws Error(kUsage)
  // "FILE: cannot write: <why>" (a write failed: disk full, ...), "FILE: exists (--force
  // replaces it)" (kRefuse, and a file appeared meanwhile); the temporary file is then removed.
  void commit();

 private:
  std::string path_;
  std::string temp_;
  Existing existing_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

}  // namespace pathtrace
