#include "correlator/inventory/inventory.hpp"

#include <algorithm>
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

// Where the first non-ASCII byte outside a string or a comment is (1-based line and column),
// or {0, 0}. toml++ 3.3 (Debian 12's) reaches __builtin_unreachable — undefined behaviour —
// when it meets some non-ASCII characters where whitespace could stand (U+00A1, U+3001,
// U+FCFF: found by tests/fuzz/fuzz_inventory). TOML allows non-ASCII only in strings and
// comments, so anywhere else it is an error anyway: found here, before toml++ sees it.
std::pair<std::size_t, std::size_t> non_ascii_outside_strings(std::string_view t) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral } in = In::kCode;
  std::size_t line = 1, line_start = 0;
  const std::size_t bom = t.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a UTF-8 byte order mark
  // The number of `q` quotes from i on.
  auto quotes = [&](std::size_t i, char q) {
    std::size_t n = 0;
    while (i + n < t.size() && t[i + n] == q) ++n;
    return n;
  };
  for (std::size_t i = bom; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      if (in == In::kComment || in == In::kBasic || in == In::kLiteral) in = In::kCode;
      continue;
    }
    switch (in) {
      case In::kCode:
        if (static_cast<unsigned char>(c) >= 0x80) return {line, i - line_start + 1};
        if (c == '#') {
          in = In::kComment;
        } else if (c == '"' || c == '\'') {
          const std::size_t n = quotes(i, c);
          if (n >= 3) {
            in = c == '"' ? In::kMultiBasic : In::kMultiLiteral;
            i += 2;
          } else if (n == 2) {
            ++i;  // an empty string
          } else {
            in = c == '"' ? In::kBasic : In::kLiteral;
          }
        }
        break;
      case In::kComment:
        break;
      case In::kBasic:
      case In::kMultiBasic:
        if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') {
          ++i;  // an escape: the next byte does not end the string
        } else if (c == '"') {
          const std::size_t n = quotes(i, '"');
          if (in == In::kBasic) {
            in = In::kCode;
          } else if (n >= 3) {
            in = In::kCode;  // """ ends it, with up to two quotes of its own before
            i += std::min<std::size_t>(n, 5) - 1;
          }
        }
        break;
      case In::kLiteral:
        if (c == '\'') in = In::kCode;
        break;
      case In::kMultiLiteral:
        if (const std::size_t n = quotes(i, '\''); n >= 3) {
          in = In::kCode;
          i += std::min<std::size_t>(n, 5) - 1;
        }
        break;
    }
  }
  return {0, 0};
}

// The inventory at `path` parsed. Throws Error(kInput) "inventory FILE:LINE:COL: why".
toml::table parse_toml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw Error(ExitCode::kInput, "inventory " + path + ": cannot be read");
  const std::string doc = text.str();
  if (const auto [line, col] = non_ascii_outside_strings(doc); line)
    throw Error(ExitCode::kInput, "inventory " + path + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                      ": a non-ASCII character outside a string or comment");
  try {
    return toml::parse(doc, path);
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
