// pathtrace — where along the path did my packets vanish?
// Subcommand dispatch; every Error is caught here once and mapped to its exit code.

#include <iostream>
#include <streambuf>
#include <string>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/remote/ssh.hpp"
#include "correlator/report/text.hpp"

namespace pathtrace::cli {

std::span<const Command> commands() {
  static const Command kCommands[] = {
      {&kRunSpec, run_run},           {&kCollectSpec, run_collect}, {&kCorrelateSpec, run_correlate},
      {&kIngestSpec, run_ingest},     {&kReportSpec, run_report},   {&kRunsSpec, run_runs},
      {&kDiscoverSpec, run_discover}, {&kTimelineSpec, run_timeline}, {&kQuerySpec, run_query},
      {&kExportSpec, run_export},
  };
  return kCommands;
}

namespace {

std::string usage() {
  std::string s =
      "pathtrace — where along the path did my packets vanish?\n\n"
      "usage: pathtrace COMMAND [OPTIONS]\n\ncommands:\n";
  for (const Command& c : commands())
    s += "  " + report::pad(c.spec->name, 10) + std::string(c.spec->summary) + "\n";
  s += "  help      this text; `pathtrace help COMMAND` (= `pathtrace COMMAND --help`) for a command's options\n"
       "\nexamples:\n"
       "  pathtrace run --points A..G --filter ipip --duration 10s\n"
       "  pathtrace ingest --inventory pcaps/incident-broken/inventory.toml --filter ipip\n"
       "  pathtrace ingest --filter ipip --order A..G A:vm=a.pcap B:tap=b.pcap C:qbr=c.pcap\n"
       "  pathtrace report --run 3 --json\n"
       "  pathtrace export --lost -w lost.pcapng\n"
       "  sqlite3 pathtrace.db 'SELECT * FROM hop_loss'\n"
       "\nexit codes: 0 ok, every judged flow delivered · 1 a flow lost packets (run, correlate, ingest,\n"
       "            report) · 2 usage · 3 input file · 4 database · 5 capture · 6 remote host ·\n"
       "            70 internal error (docs/cli.md)\n";
  return s;
}

const Command* find_command(std::string_view name) {
  for (const Command& c : commands())
    if (c.spec->name == name) return &c;
  return nullptr;
}

// Standard output in ASCII (pathtrace's symbols spelled out) for a terminal whose locale is
// not UTF-8; a UTF-8 sequence cut between two writes is held back until it is whole.
class AsciiOut : public std::streambuf {
 public:
  explicit AsciiOut(std::streambuf* dest) : dest_(dest) {}
  ~AsciiOut() override { sync(); }

 protected:
  int overflow(int c) override {
    if (c != traits_type::eof()) pending_.push_back(char(c));
    if (pending_.size() >= 4096) flush_whole();
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    pending_.append(s, std::size_t(n));
    if (pending_.size() >= 4096) flush_whole();
    return n;
  }
  int sync() override {
    flush_whole();
    return dest_->pubsync();
  }

 private:
  void flush_whole() {
    std::size_t end = pending_.size();
    // Keep back a trailing sequence whose lead byte announces more bytes than have come.
    for (std::size_t back = 1; back <= 3 && back <= end; ++back) {
      const unsigned char c = static_cast<unsigned char>(pending_[end - back]);
      if ((c & 0xC0) == 0x80) continue;
      const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (len > back) end -= back;
      break;
    }
    const std::string out = report::for_terminal(pending_.substr(0, end), false);
    dest_->sputn(out.data(), std::streamsize(out.size()));
    pending_.erase(0, end);
  }
  std::streambuf* dest_;
  std::string pending_;
};

// `pathtrace --generate man|bash|zsh`: what the build installs (docs/cli.md, CMakeLists.txt).
int generate(std::string_view what) {
  std::vector<const CommandSpec*> specs;
  for (const Command& c : commands()) specs.push_back(c.spec);
  if (what == "man") std::cout << man_page(specs, PATHTRACE_VERSION);
  else if (what == "bash") std::cout << bash_completion(specs);
  else if (what == "zsh") std::cout << zsh_completion(specs);
  else throw Error(ExitCode::kUsage, "--generate " + std::string(what) + ": man, bash or zsh");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command_line = join_args(argc, argv);
  const bool utf8 = report::utf8_terminal();
  if (argc < 2) {
    std::cerr << report::for_terminal(usage(), utf8);
    return int(ExitCode::kUsage);
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      if (argc > 2) {
        const Command* c = find_command(argv[2]);
        if (!c) throw Error(ExitCode::kUsage, "help: no command '" + std::string(argv[2]) + "'");
        std::cout << report::for_terminal(help_text(*c->spec), utf8);
        return 0;
      }
      std::cout << report::for_terminal(usage(), utf8);
      return 0;
    }
    if (cmd == "--version" || cmd == "version") {
      std::cout << remote::version_line() << "\n";
      return 0;
    }
    if (cmd == "--generate") return generate(argc > 2 ? argv[2] : "");
    const Command* c = find_command(cmd);
    if (!c) {
      std::cerr << "pathtrace: unknown command '" << cmd << "'\n\n" << report::for_terminal(usage(), utf8);
      return int(ExitCode::kUsage);
    }
    // Subcommand options start after the command word.
    std::optional<Args> args = parse(*c->spec, argc - 1, argv + 1);
    if (!args) return 0;  // --help was printed
    // Data formats keep their UTF-8; text for people follows the terminal's locale.
    const bool data = args->has("json") || (c->spec->name == "query" && args->has("csv"));
    std::optional<AsciiOut> ascii;
    std::streambuf* const original = std::cout.rdbuf();
    if (!utf8 && !data) std::cout.rdbuf(&ascii.emplace(original));
    struct Restore {
      std::streambuf* original;
      ~Restore() {
        std::cout.flush();
        std::cout.rdbuf(original);
      }
    } restore{original};
    return c->run(*args, command_line);
  } catch (const Error& e) {
    std::cerr << "pathtrace " << cmd << ": " << report::for_terminal(e.what(), utf8) << "\n";
    return int(e.code());
  } catch (const std::exception& e) {
    std::cerr << "pathtrace " << cmd << ": internal error: " << e.what() << "\n";
    return int(ExitCode::kInternal);
  }
}

}  // namespace pathtrace::cli

int main(int argc, char** argv) { return pathtrace::cli::main(argc, argv); }
