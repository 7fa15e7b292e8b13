#include "correlator/cli/spec.hpp"

#include <charconv>
#include <cmath>
#include <iostream>

#include "collector/common/error.hpp"
#include "collector/packet/filter.hpp"

namespace pathtrace::cli {
namespace {

const OptionSpec* find(const CommandSpec& spec, std::string_view name) {
  for (const auto& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

[[noreturn]] void bad_value(std::string_view name, const std::string& text, const std::string& expected) {
  throw Error(ExitCode::kUsage, "--" + std::string(name) + " '" + text + "': expected " + expected);
}

// "-q, --quiet" / "    --db FILE": the left column of the help.
std::string left_column(const OptionSpec& o) {
  std::string s = o.short_name ? std::string("-") + o.short_name + ", " : std::string("    ");
  s += "--" + std::string(o.name);
  if (o.optional_value) s += "[=" + std::string(o.value) + "]";
  else if (!o.value.empty()) s += " " + std::string(o.value);
  return s;
}

std::string help_with_default(const OptionSpec& o) {
  std::string s(o.help);
  if (!o.default_value.empty()) s += " (default: " + std::string(o.default_value) + ")";
  if (o.repeated) s += "; may be repeated";
  return s;
}

// Words of `text` wrapped at `width`, each continuation line indented by `indent` spaces.
std::string wrap(std::string_view text, std::size_t width, std::size_t indent, std::size_t first_used) {
  std::string out;
  std::size_t used = first_used;
  std::size_t i = 0;
  bool line_start = true;
  while (i < text.size()) {
    if (text[i] == '\n') {
      out += '\n';
      out.append(indent, ' ');
      used = indent;
      line_start = true;
      ++i;
      continue;
    }
    const std::size_t end = text.find_first_of(" \n", i);
    const std::string_view word = text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!line_start && used + 1 + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      used = indent;
      line_start = true;
    }
    if (!line_start) {
      out += ' ';
      ++used;
    }
    out += word;
    used += word.size();
    line_start = false;
    i = end == std::string_view::npos ? text.size() : (text[end] == ' ' ? end + 1 : end);
  }
  return out;
}

// roff: escape backslashes and dashes; a line never starts with '.' or '\''.
std::string roff(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  std::string fixed;
  bool at_start = true;
  for (char c : out) {
    if (at_start && (c == '.' || c == '\'')) fixed += "\\&";
    fixed += c;
    at_start = c == '\n';
  }
  return fixed;
}

// Options that name a file or folder (completed with file names).
bool takes_path(const OptionSpec& o) {
  return o.value == "FILE" || o.value == "DIR" || o.value == "FILE.pcapng" || o.value == "FILE.html";
}

}  // namespace

bool Args::has(std::string_view name) const { return res_.count(std::string(name)) > 0; }

std::string Args::str(std::string_view name) const {
  const std::string key(name);
  const OptionSpec* o = find(*spec_, name);
  if (!o) throw Error(ExitCode::kInternal, "no option --" + key + " in " + std::string(spec_->name));
  if (res_.count(key)) return res_[key].as<std::string>();
  return std::string(o->default_value);
}

std::vector<std::string> Args::list(std::string_view name) const {
  const std::string key(name);
  if (!res_.count(key)) return {};
  return res_[key].as<std::vector<std::string>>();
}

uint64_t Args::uint(std::string_view name, uint64_t min, uint64_t max) const {
  const std::string text = str(name);
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max)
    bad_value(name, text, "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

int64_t Args::int64(std::string_view name) const {
  const std::string text = str(name);
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) bad_value(name, text, "a whole number");
  return v;
}

double Args::number(std::string_view name) const {
  const std::string text = str(name);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v))
    bad_value(name, text, "a number");
  return v;
}

std::optional<Args> parse(const CommandSpec& spec, int argc, char** argv) {
  cxxopts::Options opts("pathtrace " + std::string(spec.name));
  auto add = opts.add_options();
  std::vector<std::string> positional;
  for (const OptionSpec& o : spec.options) {
    const std::string names = o.short_name ? std::string(1, o.short_name) + "," + std::string(o.name) : std::string(o.name);
    const std::string help(o.help);
    if (o.value.empty()) {
      add(names, help);
    } else if (o.optional_value) {
      add(names, help, cxxopts::value<std::string>()->implicit_value(""));
    } else if (o.repeated || o.positional) {
      add(names, help, cxxopts::value<std::vector<std::string>>());
    } else {
      add(names, help, cxxopts::value<std::string>());
    }
    if (o.positional) positional.emplace_back(o.name);
  }
  add("h,help", "this help");
  if (!positional.empty()) opts.parse_positional(positional);
  cxxopts::ParseResult res;
  try {
    res = opts.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(ExitCode::kUsage, std::string(e.what()) + " (see pathtrace " + std::string(spec.name) + " --help)");
  }
  if (res.count("help")) {
    std::cout << help_text(spec) << std::flush;
    return std::nullopt;
  }
  // A value given twice to a single-valued option: the last one would win silently.
  for (const OptionSpec& o : spec.options)
    if (!o.value.empty() && !o.repeated && !o.positional && res.count(std::string(o.name)) > 1)
      throw Error(ExitCode::kUsage, "--" + std::string(o.name) + " given more than once");
  return Args(spec, std::move(res));
}

std::string help_text(const CommandSpec& spec, std::size_t width) {
  std::string s = "usage: pathtrace " + std::string(spec.name) + " " + std::string(spec.synopsis) + "\n\n";
  s += wrap(spec.description, width, 0, 0) + "\n\noptions:\n";
  std::size_t col = 0;
  for (const auto& o : spec.options) col = std::max(col, left_column(o).size());
  col = std::min<std::size_t>(col + 4, 34);
  auto line = [&](const std::string& left, const std::string& help) {
    std::string l = "  " + left;
    if (l.size() + 2 > col) {
      s += l + "\n" + std::string(col, ' ');
    } else {
      s += l + std::string(col - l.size(), ' ');
    }
    s += wrap(help, width, col, col) + "\n";
  };
  for (const auto& o : spec.options) line(left_column(o), help_with_default(o));
  line("-h, --help", "this help");
  if (find(spec, "filter")) {
    s += "\nfilter aliases (exact on parsed layers; they match VLAN-tagged and tunnelled copies):\n";
    for (const auto& a : packet::aliases()) line(std::string(a.name), std::string(a.description));
    s += "anything else is a pcap-filter expression applied to the raw frame, untagged or behind\n"
         "802.1Q tags (unless it says vlan, mpls, pppoes, geneve or vxlan itself).\n";
  }
  if (!spec.examples.empty()) {
    s += "\nexamples:\n";
    std::size_t i = 0;
    while (i < spec.examples.size()) {
      const std::size_t nl = spec.examples.find('\n', i);
      const std::string_view ex = spec.examples.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i);
      if (!ex.empty()) s += "  " + std::string(ex) + "\n";
      i = nl == std::string_view::npos ? spec.examples.size() : nl + 1;
    }
  }
  if (!spec.exit_codes.empty()) s += "\nexit codes: " + wrap(spec.exit_codes, width, 12, 12) + "\n";
  return s;
}

std::string man_page(std::span<const CommandSpec* const> specs, std::string_view version) {
  std::string s = ".TH PATHTRACE 1 \"\" \"pathtrace " + std::string(version) + "\" \"User Commands\"\n";
  s += ".SH NAME\npathtrace \\- where along the path did my packets vanish?\n";
  s += ".SH SYNOPSIS\n.B pathtrace\n.I COMMAND\n[\\fIOPTIONS\\fR]\n";
  s += ".SH DESCRIPTION\n" +
       roff("pathtrace captures (or reads captures) at named points along a network path, recognises "
            "the same packet at every point by an invariant digest, stores every sighting in SQLite "
            "and says at which hop each flow disappears, with numbers per point and per hop.") +
       "\n";
  s += ".SH COMMANDS\n";
  for (const CommandSpec* c : specs) {
    s += ".SS \"" + roff(std::string("pathtrace ") + std::string(c->name)) + "\"\n";
    s += roff(std::string(c->summary)) + "\n.PP\n";
    s += ".B pathtrace " + roff(std::string(c->name)) + "\n" + roff(std::string(c->synopsis)) + "\n.PP\n";
    s += roff(std::string(c->description)) + "\n";
    for (const auto& o : c->options) {
      s += ".TP\n.B " + roff(left_column(o).substr(left_column(o).find_first_not_of(' '))) + "\n";
      s += roff(help_with_default(o)) + "\n";
    }
    if (!c->examples.empty()) s += ".PP\nExamples:\n.nf\n" + roff(std::string(c->examples)) + "\n.fi\n";
    if (!c->exit_codes.empty()) s += ".PP\nExit codes: " + roff(std::string(c->exit_codes)) + "\n";
  }
  s += ".SH EXIT STATUS\n" +
       roff("0 finished; every judged flow delivered (or nothing to judge). 1 finished; a flow lost "
            "packets. 2 usage. 3 input file or inventory. 4 database. 5 capture. 6 remote host. 70 "
            "internal error.") +
       "\n";
  s += ".SH SEE ALSO\n" + roff("tcpdump(1), tshark(1), pcap-filter(7); /usr/share/doc/pathtrace") + "\n";
  return s;
}

std::string bash_completion(std::span<const CommandSpec* const> specs) {
  std::string commands = "help";
  for (const CommandSpec* c : specs) commands += " " + std::string(c->name);
  std::string s =
      "# bash completion for pathtrace (generated from its option tables)\n"
      "_pathtrace() {\n"
      "  local cur prev cmd opts files\n"
      "  cur=${COMP_WORDS[COMP_CWORD]}\n"
      "  prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
      "    COMPREPLY=($(compgen -W \"" + commands + "\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  cmd=${COMP_WORDS[1]}\n"
      "  case \"$cmd\" in\n";
  for (const CommandSpec* c : specs) {
    std::string opts = "--help", files, values;
    for (const auto& o : c->options) {
      opts += " --" + std::string(o.name);
      if (o.short_name) opts += " -" + std::string(1, o.short_name);
      if (takes_path(o)) files += (files.empty() ? "" : "|") + std::string("--") + std::string(o.name);
      else if (!o.value.empty() && !o.optional_value) values += (values.empty() ? "" : "|") + std::string("--") + std::string(o.name);
    }
    s += "    " + std::string(c->name) + ")\n      opts=\"" + opts + "\"\n";
    if (!files.empty()) s += "      case \"$prev\" in " + files + ") COMPREPLY=($(compgen -f -- \"$cur\")); return;; esac\n";
    if (!values.empty()) s += "      case \"$prev\" in " + values + ") return;; esac\n";
    s += "      ;;\n";
  }
  s += "    help) COMPREPLY=($(compgen -W \"" + commands + "\" -- \"$cur\")); return;;\n"
       "    *) return;;\n"
       "  esac\n"
       "  if [[ $cur == -* ]]; then\n"
       "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
       "  else\n"
       "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
       "  fi\n"
       "}\n"
       "complete -F _pathtrace pathtrace\n";
  return s;
}

std::string zsh_completion(std::span<const CommandSpec* const> specs) {
  auto quote = [](std::string_view t) {
    std::string q;
    for (char c : t) {
      if (c == '\'') q += "'\\''";
      else if (c == '[' || c == ']' || c == ':') q += std::string("\\") + c;
      else q += c;
    }
    return q;
  };
  std::string s =
      "#compdef pathtrace\n# zsh completion for pathtrace (generated from its option tables)\n"
      "_pathtrace() {\n  local -a commands\n  commands=(\n";
  for (const CommandSpec* c : specs) s += "    '" + std::string(c->name) + ":" + quote(c->summary) + "'\n";
  s += "    'help:a command'\\''s options'\n  )\n"
       "  if (( CURRENT == 2 )); then\n    _describe command commands\n    return\n  fi\n"
       "  case $words[2] in\n";
  for (const CommandSpec* c : specs) {
    // Appended piece by piece: g++ 12 -O3 sees a false -Wrestrict in `"literal" + std::string`.
    s.append("    ").append(c->name).append(")\n      _arguments -s \\\n");
    for (const auto& o : c->options) {
      const std::string help = quote(o.help.substr(0, o.help.find('.')));
      std::string spec(o.repeated ? "'*--" : "'--");
      spec.append(o.name).append(o.optional_value ? "=-" : "").append("[").append(help).append("]");
      if (o.optional_value) spec.append("::").append(o.value).append(": ");
      else if (!o.value.empty()) spec.append(":").append(o.value).append(":").append(takes_path(o) ? "_files" : " ");
      s += "        " + spec + "' \\\n";
    }
    s += "        '(-h --help)'{-h,--help}'[this help]' \\\n        '*:file:_files'\n      ;;\n";
  }
  s += "  esac\n}\n_pathtrace \"$@\"\n";
  return s;
}

}  // namespace pathtrace::cli
