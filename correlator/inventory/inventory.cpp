#include "correlator/inventory/inventory.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>
#include <toml++/toml.h>

#include "collector/common/error.hpp"

namespace pathtrace::inventory {
namespace {

bool valid_label(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

[[noreturn]] void usage(const std::string& what) { throw Error(ExitCode::kUsage, what); }

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The code point of the UTF-8 sequence at t[i] and its length, or {0, 0} when it is not valid
// UTF-8 (cut short, overlong, a surrogate, above U+10FFFF).
std::pair<char32_t, std::size_t> utf8_at(std::string_view t, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(i + k < t.size() ? t[i + k] : 0); };
  const unsigned char c = b(0);
  const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4) return {0, 0};
  char32_t cp = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, n};
}

// `\uXXXX` or `\UXXXXXXXX`: the TOML escape of a code point.
std::string toml_escape(char32_t cp) {
  char buf[12];
  std::snprintf(buf, sizeof buf, cp <= 0xFFFF ? "\\u%04X" : "\\U%08X", static_cast<unsigned>(cp));
  return buf;
}

// An inventory's text made ASCII without changing what it says, or where and why it cannot be.
struct AsciiToml {
  std::string text;
  std::size_t line = 0, col = 0;  // of the error (1-based); 0: none
  const char* error = nullptr;
};

// toml++ 3.3 (Debian 12's) reaches __builtin_unreachable — undefined behaviour — when it asks
// whether some non-ASCII characters are whitespace (U+00A1-U+0499, U+2D3E-U+3137, U+FB66-
// U+FEFE), which it does outside strings, after a line-ending backslash in a multi-line string
// and while it reads values (found by tests/fuzz/fuzz_inventory). So it is given ASCII only:
// a non-ASCII character in a basic string becomes its \u escape, a literal string holding one
// becomes the basic string that says the same, one in a comment a '?', and one anywhere else
// (where TOML allows none) or bytes that are not UTF-8 are an error found here. Only the
// columns of toml++'s own messages can move (on lines with such characters).
AsciiToml ascii_toml(std::string_view t) {
  enum class In { kCode, kComment, kBasic, kMultiBasic } in = In::kCode;
  AsciiToml out;
  std::size_t line = 1, line_start = 0;
  auto fail = [&](std::size_t at, const char* why) {
    out.line = line;
    out.col = at - line_start + 1;
    out.error = why;
    return out;
  };
  auto quotes = [&](std::size_t at, char q) {  // the number of `q` from `at` on
    std::size_t n = 0;
    while (at + n < t.size() && t[at + n] == q) ++n;
    return n;
  };
  auto ascii = [](char b) { return static_cast<unsigned char>(b) < 0x80; };
  std::size_t i = t.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a UTF-8 byte order mark
  out.text.reserve(t.size());
  while (i < t.size()) {
    const char c = t[i];
    if (c == '\n') {
      out.text += c;
      ++i;
      ++line;
      line_start = i;
      if (in == In::kComment || in == In::kBasic) in = In::kCode;
      continue;
    }
    if (!ascii(c)) {
      const auto [cp, len] = utf8_at(t, i);
      if (!len) return fail(i, "not UTF-8");
      if (in == In::kCode) return fail(i, "a non-ASCII character outside a string or comment");
      out.text += in == In::kComment ? std::string("?") : toml_escape(cp);
      i += len;
      continue;
    }
    if (in == In::kComment) {
      out.text += c;
      ++i;
      continue;
    }
    if (in == In::kBasic || in == In::kMultiBasic) {
      if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') {
        if (!ascii(t[i + 1])) return fail(i, "an escape of a non-ASCII character");
        out.text.append(t.substr(i, 2));  // an escape: the next byte does not end the string
        i += 2;
        continue;
      }
      std::size_t n = 1;
      if (c == '"' && in == In::kBasic) {
        in = In::kCode;
      } else if (c == '"' && quotes(i, '"') >= 3) {
        n = std::min<std::size_t>(quotes(i, '"'), 5);  // """ ends it, with up to two quotes of its own
        in = In::kCode;
      }
      out.text.append(t.substr(i, n));
      i += n;
      continue;
    }
    if (c == '#') {
      in = In::kComment;
    } else if (c == '"') {
      const std::size_t n = std::min<std::size_t>(quotes(i, '"'), 3);
      if (n != 2) in = n == 3 ? In::kMultiBasic : In::kBasic;  // n == 2: an empty string
      out.text.append(n, '"');
      i += n;
      continue;
    } else if (c == '\'') {
      // A literal string: as it is, unless it holds a non-ASCII character; then as the basic
      // string that says the same (backslashes and double quotes escaped).
      const bool multi = quotes(i, '\'') >= 3;
      const std::size_t open = multi ? 3 : 1;
      std::size_t end = i + open, close = 0;
      for (; end < t.size(); ++end) {
        if (!multi && (t[end] == '\'' || t[end] == '\n')) {
          close = t[end] == '\'' ? 1 : 0;
          break;
        }
        if (multi && quotes(end, '\'') >= 3) {
          close = std::min<std::size_t>(quotes(end, '\''), 5);
          break;
        }
      }
      const std::string_view body = t.substr(i + open, end - i - open);
      if (std::all_of(body.begin(), body.end(), ascii)) {
        out.text.append(t.substr(i, end + close - i));
      } else {
        const std::string quote = multi ? "\"\"\"" : "\"";
        out.text += quote;
        for (std::size_t k = 0; k < body.size();) {
          if (!ascii(body[k])) {
            const auto [cp, len] = utf8_at(body, k);
            if (!len) return fail(i + open + k, "not UTF-8");
            out.text += toml_escape(cp);
            k += len;
            continue;
          }
          if (body[k] == '\\' || body[k] == '"') out.text += '\\';
          out.text += body[k++];
        }
        if (close > 3) out.text.append(close - 3, '\'');  // quotes of the string before its '''
        if (close) out.text += quote;
      }
      for (std::size_t k = i; k < end + close; ++k) {
        if (t[k] == '\n') {
          ++line;
          line_start = k + 1;
        }
      }
      i = end + close;
      continue;
    }
    out.text += c;
    ++i;
  }
  return out;
}

// The inventory at `path` parsed. Throws Error(kInput) "inventory FILE:LINE:COL: why".
toml::table parse_toml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw Error(ExitCode::kInput, "inventory " + path + ": cannot be read");
  const AsciiToml doc = ascii_toml(text.str());
  if (doc.error)
    throw Error(ExitCode::kInput, "inventory " + path + ":" + std::to_string(doc.line) + ":" +
                                      std::to_string(doc.col) + ": " + doc.error);
  try {
    return toml::parse(doc.text, path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw Error(ExitCode::kInput, "inventory " + path + ":" + std::to_string(where.line) + ":" +
                                      std::to_string(where.column) + ": " + std::string(e.description()));
  }
}

}  // namespace

Point parse_point_arg(std::string_view arg) {
  const auto eq = arg.find('=');
  if (eq == std::string_view::npos)
    usage("point '" + std::string(arg) + "': expected LABEL[:ROLE[:IFACE[@HOST]]]=FILE");
  Point p;
  p.source = std::string(arg.substr(eq + 1));
  std::string_view spec = arg.substr(0, eq);
  if (const auto at = spec.find('@'); at != std::string_view::npos) {
    p.host = std::string(spec.substr(at + 1));
    spec = spec.substr(0, at);
    if (p.host.empty()) usage("point '" + std::string(arg) + "': empty host after '@'");
  }
  const auto c1 = spec.find(':');
  p.label = std::string(spec.substr(0, c1));
  if (c1 != std::string_view::npos) {
    std::string_view rest = spec.substr(c1 + 1);
    const auto c2 = rest.find(':');
    p.role = std::string(rest.substr(0, c2));
    if (c2 != std::string_view::npos) p.iface = std::string(rest.substr(c2 + 1));
  }
  if (!valid_label(p.label))
    usage("point '" + std::string(arg) + "': label '" + p.label +
          "' must be 1-32 letters, digits, '-', '_' or '.'");
  if (p.source.empty()) usage("point " + p.label + ": no capture file after '='");
  return p;
}

Point parse_live_point(const std::string& arg) {
  const auto eq = arg.find('=');
  const auto colon = eq == std::string::npos ? std::string::npos : arg.find(':', eq + 1);
  if (eq == std::string::npos || colon == std::string::npos)
    throw Error(ExitCode::kUsage, "--point '" + arg + "': expected LABEL[:ROLE]=HOST:IFACE[@NETNS]");
  Point p;
  const std::string left = arg.substr(0, eq);
  const auto rc = left.find(':');
  p.label = left.substr(0, rc);
  if (rc != std::string::npos) p.role = left.substr(rc + 1);
  p.host = arg.substr(eq + 1, colon - eq - 1);
  std::string iface = arg.substr(colon + 1);
  if (const auto at = iface.find('@'); at != std::string::npos) {
    p.netns = iface.substr(at + 1);
    iface = iface.substr(0, at);
  }
  p.iface = iface;
  if (p.label.empty() || p.host.empty() || p.iface.empty())
    throw Error(ExitCode::kUsage, "--point '" + arg + "': expected LABEL[:ROLE]=HOST:IFACE[@NETNS]");
  return p;
}

std::vector<Point> load_inventory(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ExitCode::kInput, "inventory " + path + ": no such file");
  const toml::table doc = parse_toml(path);
  const fs::path dir = fs::path(path).parent_path();
  std::vector<Point> points;
  const toml::array* arr = doc["point"].as_array();
  if (!arr) usage("inventory " + path + ": no [[point]] entries");
  std::size_t index = 0;
  for (const toml::node& node : *arr) {
    ++index;
    const toml::table* t = node.as_table();
    const std::string where = "inventory " + path + ": point #" + std::to_string(index);
    if (!t) usage(where + ": not a table");
    Point p;
    auto get = [&](const char* key, std::string& out, bool required) {
      const toml::node* v = t->get(key);
      if (!v) {
        if (required) usage(where + ": missing '" + key + "'");
        return;
      }
      if (!v->is_string()) usage(where + ": '" + key + "' must be a string");
      out = trim(v->as_string()->get());
    };
    get("label", p.label, true);
    get("role", p.role, false);
    get("host", p.host, false);
    get("netns", p.netns, false);
    get("iface", p.iface, false);
    std::string file;
    get("file", file, false);
    if (!valid_label(p.label))
      usage(where + ": label '" + p.label + "' must be 1-32 letters, digits, '-', '_' or '.'");
    if (p.host.empty()) p.host = "local";
    if (!file.empty()) {
      fs::path f(file);
      p.source = (f.is_absolute() || dir.empty()) ? f.string() : (dir / f).string();
    }
    points.push_back(std::move(p));
  }
  return points;
}

std::map<std::string, Host> load_hosts(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(ExitCode::kInput, "inventory " + path + ": no such file");
  const toml::table doc = parse_toml(path);
  std::map<std::string, Host> out;
  const toml::node* hosts_node = doc.get("hosts");
  if (!hosts_node) return out;
  const toml::table* hosts = hosts_node->as_table();
  if (!hosts) usage("inventory " + path + ": 'hosts' must be a table of [hosts.NAME] tables");
  for (const auto& [key, node] : *hosts) {
    Host h;
    h.name = std::string(key.str());
    const std::string where = "inventory " + path + ": host " + h.name;
    if (!valid_label(h.name)) usage(where + ": name must be letters, digits, '-', '_' or '.'");
    if (h.name == "local") usage(where + ": 'local' is this machine and cannot be redefined");
    const toml::table* t = node.as_table();
    if (!t) usage(where + ": not a table");
    for (const auto& [k, v] : *t) {
      const std::string name(k.str());
      auto str = [&, &v = v]() {  // clang 14 cannot capture a structured binding
        if (!v.is_string()) usage(where + ": '" + name + "' must be a string");
        return trim(v.as_string()->get());
      };
      if (name == "ssh") {
        h.ssh = str();
        if (h.ssh.empty() || h.ssh.front() == '-') usage(where + ": ssh '" + h.ssh + "' is not a destination");
      } else if (name == "port") {
        if (!v.is_integer()) usage(where + ": 'port' must be an integer");
        const int64_t port = v.as_integer()->get();
        if (port < 1 || port > 65535) usage(where + ": port " + std::to_string(port) + " is not 1..65535");
        h.port = int(port);
      } else if (name == "identity") {
        h.identity = str();
      } else if (name == "options") {
        const toml::array* a = v.as_array();
        if (!a) usage(where + ": 'options' must be an array of strings");
        for (const auto& o : *a) {
          if (!o.is_string()) usage(where + ": 'options' must be an array of strings");
          h.options.push_back(trim(o.as_string()->get()));
        }
      } else if (name == "pathtrace") {
        h.pathtrace = str();
        if (h.pathtrace.empty()) usage(where + ": 'pathtrace' is empty");
      } else if (name == "sudo") {
        if (!v.is_boolean()) usage(where + ": 'sudo' must be true or false");
        h.sudo = v.as_boolean()->get();
      } else if (name == "mode") {
        const std::string m = str();
        if (m == "agent") h.mode = Host::Mode::kAgent;
        else if (m == "agentless") h.mode = Host::Mode::kAgentless;
        else usage(where + ": mode '" + m + "' must be \"agent\" or \"agentless\"");
      } else {
        usage(where + ": unknown key '" + name + "' (ssh, port, identity, options, pathtrace, sudo, mode)");
      }
    }
    if (h.ssh.empty()) h.ssh = h.name;
    out.emplace(h.name, std::move(h));
  }
  return out;
}

Host host_for(const std::map<std::string, Host>& hosts, const std::string& name) {
  if (auto it = hosts.find(name); it != hosts.end()) return it->second;
  Host h;
  h.name = name;
  h.ssh = name;
  return h;
}

std::vector<Point> select_points(const std::vector<Point>& all, std::string_view order) {
  if (order.empty()) return all;
  auto find = [&](std::string_view label) -> std::size_t {
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].label == label) return i;
    std::string known;
    for (const auto& p : all) known += (known.empty() ? "" : ",") + p.label;
    usage("--order: no point '" + std::string(label) + "' (points: " + known + ")");
  };
  std::vector<Point> out;
  if (const auto dots = order.find(".."); dots != std::string_view::npos) {
    const std::string from = trim(order.substr(0, dots));
    const std::string to = trim(order.substr(dots + 2));
    if (from.empty() || to.empty()) usage("--order '" + std::string(order) + "': expected FROM..TO");
    const std::size_t a = find(from), b = find(to);
    if (a <= b) {
      for (std::size_t i = a; i <= b; ++i) out.push_back(all[i]);
    } else {
      for (std::size_t i = a + 1; i-- > b;) out.push_back(all[i]);
    }
    return out;
  }
  std::size_t start = 0;
  while (start <= order.size()) {
    auto comma = order.find(',', start);
    if (comma == std::string_view::npos) comma = order.size();
    const std::string label = trim(order.substr(start, comma - start));
    if (label.empty()) usage("--order '" + std::string(order) + "': empty label");
    out.push_back(all[find(label)]);
    start = comma + 1;
  }
  return out;
}

void finalize_path(std::vector<Point>& points) {
  if (points.empty()) usage("no points: give LABEL=FILE arguments or --inventory");
  if (points.size() > kMaxPoints)
    usage("too many points (" + std::to_string(points.size()) + "); at most " +
          std::to_string(kMaxPoints));
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (points[j].label == points[i].label)
        usage("point " + points[i].label + " is given twice (" + points[j].source + ", " +
              points[i].source + ")");
    points[i].ord = static_cast<uint8_t>(i);
  }
}

}  // namespace pathtrace::inventory
