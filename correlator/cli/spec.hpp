#pragma once
// Every command's options as data: one table per command, from which come the parser, the
// `--help` text, the man page and the shell completions — so they never disagree.
//
//   CommandSpec ──parse()──▶ Args (typed getters; bad values → Error(kUsage) naming the option)
//               ──help_text()──▶ `pathtrace CMD --help`, `pathtrace help CMD`
//   all specs ──man_page() / bash_completion() / zsh_completion()──▶ files installed with the binary

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Values of repeated options are never split: a file name or an SQL text may hold commas.
#define CXXOPTS_VECTOR_DELIMITER '\x1f'
#include <cxxopts.hpp>

namespace pathtrace::cli {

// One option of a command.
struct OptionSpec {
  std::string_view name;         // long name without dashes: "db"
  char short_name = 0;           // 'q' for -q, 0 for none
  std::string_view value;        // what it takes, as help shows it: "FILE", "N", "DURATION"; "" = a flag
  std::string_view help;         // one sentence, no default in it
  std::string_view default_value;  // shown once as "(default: …)"; "" = none
  bool repeated = false;         // may be given several times (value required)
  bool positional = false;       // also taken from the words after the options
  bool optional_value = false;   // `--NAME` alone (value "") or `--NAME=VALUE`, never the next word
};

// One command: what `help`, the man page and the completions say of it.
struct CommandSpec {
  std::string_view name;         // "ingest"
  std::string_view summary;      // one line for the command list
  std::string_view synopsis;     // "[OPTIONS] [POINT=FILE...]" (after "pathtrace NAME ")
  std::string_view description;  // a paragraph
  std::vector<OptionSpec> options;  // -h/--help is added to every command
  std::string_view examples;     // lines, each a full command
  std::string_view exit_codes;   // one line: "0 … · 1 … · 2 …"
};

// The parsed options of one command, with typed getters that check the value.
class Args {
 public:
  Args(const CommandSpec& spec, cxxopts::ParseResult res) : spec_(&spec), res_(std::move(res)) {}
  // True when the option was given (or a flag set).
  bool has(std::string_view name) const;
  // The option's text: as given, else its default ("" when neither).
  std::string str(std::string_view name) const;
  // Every value of a repeated or positional option, in order.
  std::vector<std::string> list(std::string_view name) const;
  // The option as an unsigned integer in [min, max]; Error(kUsage) "--NAME 'x': expected a whole
  // number from MIN to MAX".
  uint64_t uint(std::string_view name, uint64_t min, uint64_t max) const;
  int64_t int64(std::string_view name) const;
  // The option as a number (e.g. milliseconds); Error(kUsage) for anything else.
  double number(std::string_view name) const;
  // Words left over that no option took (a usage error for most commands).
  const std::vector<std::string>& unmatched() const { return res_.unmatched(); }
  const CommandSpec& spec() const { return *spec_; }

 private:
  const CommandSpec* spec_;
  cxxopts::ParseResult res_;
};

// Parses argv (argv[0] is the command word). Unknown options and missing values throw
// Error(kUsage) with "(see --help)". With -h/--help, returns nullopt after printing the help.
std::optional<Args> parse(const CommandSpec& spec, int argc, char** argv);

// `pathtrace NAME --help`: usage, description, options with each default once, examples,
// exit codes. `width` is the terminal's columns.
std::string help_text(const CommandSpec& spec, std::size_t width = 100);

// One man page, pathtrace(1), covering every command (roff).
std::string man_page(std::span<const CommandSpec* const> specs, std::string_view version);
// Bash completion for every command and its options (a `complete -F` script).
std::string bash_completion(std::span<const CommandSpec* const> specs);
// Zsh completion (a `#compdef pathtrace` script).
std::string zsh_completion(std::span<const CommandSpec* const> specs);

}  // namespace pathtrace::cli
