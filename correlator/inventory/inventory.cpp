#include "correlator/inventory/inventory.hpp"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>
// toml++ 3.3 asserts things of its input that its parser checks again right after, reporting
// an error (a value that ends where it starts, a table header without a name: found by
// fuzz_inventory): a build without NDEBUG (CI's sanitizer job) aborted where a release build
// says what is wrong. Its asserts are off here in every build, as in a release build; the
// inventory's own checks (ascii_toml below) keep the inputs it meets with undefined behaviour
// away from it.
#ifndef NDEBUG
#define TOML_ASSERT(expr) static_cast<void>(0)
#endif
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

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads `n` digits at s[i..] as a number; false if they are not all digits.
bool digits(std::string_view s, std::size_t i, std::size_t n, unsigned& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (std::size_t k = i; k < i + n; ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
    out = out * 10 + unsigned(s[k] - '0');
  }
  return true;
}

// "123", "123.456" (seconds, non-negative) → ns; nullopt otherwise.
std::optional<int64_t> parse_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || (dot != std::string_view::npos && frac.empty())) return std::nullopt;
  int64_t sec = 0, ns = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    sec = sec * 10 + (c - '0');
  }
  int64_t scale = 100'000'000;
  for (char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
    ns += (c - '0') * scale;
    scale /= 10;
  }
  return sec * 1'000'000'000 + ns;
}

// "+30", "-0.25", "30s": a clock's lead in seconds (at most 10^9) → ns; nullopt otherwise.
std::optional<int64_t> parse_lead(std::string value) {
  if (!value.empty() && value.back() == 's') value.pop_back();
  double v = 0;
  const char* b = value.data() + (!value.empty() && value[0] == '+' ? 1 : 0);
  const auto [p, ec] = std::from_chars(b, value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size() || !std::isfinite(v) ||
      std::fabs(v) > 1e9)
    return std::nullopt;
  return static_cast<int64_t>(std::llround(v * 1e9));
}

// A glob character: the name is a pattern (unless it exists as it is).
bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// A time as the inventory gives it: a string (parse_time), a TOML date-time, or a number of
// seconds since 1970. nullopt when it is none of them.
std::optional<int64_t> toml_time(const toml::node& v) {
  if (const auto* str = v.as_string()) return parse_time(trim(str->get()));
  if (const auto* i = v.as_integer()) {
    if (i->get() < 0 || i->get() > 999'999'999'999) return std::nullopt;
    return i->get() * 1'000'000'000;
  }
  if (const auto* f = v.as_floating_point()) {
    const double d = f->get();
    if (!(d >= 0 && d < 1e12)) return std::nullopt;
    return static_cast<int64_t>(std::llround(d * 1e9));
  }
  if (const auto* dt = v.as_date_time()) {
    const toml::date_time& t = dt->get();
    if (!t.offset) return std::nullopt;  // a local time: which zone?
    const int64_t days = days_from_civil(t.date.year, t.date.month, t.date.day);
    return ((days * 86400 + t.time.hour * 3600 + t.time.minute * 60 + t.time.second) -
            int64_t(t.offset->minutes) * 60) * 1'000'000'000 + t.time.nanosecond;
  }
  return std::nullopt;
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
  // toml++ 3.3 asserts (without NDEBUG; with clang and NDEBUG, it tells the optimiser to
  // assume) that a table header's '[' or '[[' is followed by a key, before it checks: "[{" or
  // "[" alone on a line aborted a debug build (found by fuzz_inventory). So a header's name is
  // checked here. A '[' opens a header when no value is open: no key = value on its line yet
  // and no array or inline table of one left open on earlier lines.
  auto header_named = [&](std::size_t at) {
    std::size_t j = at + 1;
    if (j < t.size() && t[j] == '[') ++j;
    while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
    if (j >= t.size() || !ascii(t[j])) return true;  // toml++ or the check below says what is wrong
    const char k = t[j];
    return std::isalnum(static_cast<unsigned char>(k)) || k == '_' || k == '-' || k == '"' || k == '\'' ||
           k == ']';
  };
  std::size_t value_depth = 0;  // arrays and inline tables of a value still open
  bool in_value = false;        // this line's key = value has begun
  std::size_t i = t.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a UTF-8 byte order mark
  out.text.reserve(t.size());
  while (i < t.size()) {
    const char c = t[i];
    if (c == '\n') {
      out.text += c;
      ++i;
      ++line;
      line_start = i;
      if ((in == In::kCode || in == In::kComment) && value_depth == 0) in_value = false;
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
    if (c == '=' && value_depth == 0) {
      in_value = true;
    } else if (c == '[' || c == '{') {
      if (in_value || value_depth) ++value_depth;
      else if (c == '[' && !header_named(i)) return fail(i, "a table header without a name");
    } else if ((c == ']' || c == '}') && value_depth) {
      --value_depth;
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

std::optional<int64_t> parse_time(std::string_view s) {
  if (s.find('-') == std::string_view::npos || s.size() < 20) return parse_seconds(s);
  unsigned y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 ||
      sec > 60)
    return std::nullopt;
  std::size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    int64_t scale = 100'000'000;
    std::size_t n = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n) {
      frac += (s[i] - '0') * scale;
      scale /= 10;
    }
    if (n == 0) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (i + 1 == s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    unsigned oh, om;
    if (!digits(s, i + 1, 2, oh) || !digits(s, i + 4, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_s = (s[i] == '-' ? -1 : 1) * int64_t(oh * 3600 + om * 60);
    i += 6;
  }
  if (i != s.size()) return std::nullopt;
  const int64_t days = days_from_civil(y, mo, d);
  return (days * 86400 + h * 3600 + mi * 60 + sec - offset_s) * 1'000'000'000 + frac;
}

WindowArg parse_window_arg(const std::string& arg) {
  auto bad = [&](const std::string& why) -> WindowArg {
    throw Error(ExitCode::kUsage, "--window '" + arg + "': " + why);
  };
  WindowArg w;
  w.text = arg;
  std::string_view rest = arg;
  if (const auto eq = rest.find('='); eq != std::string_view::npos) {
    w.point = trim(rest.substr(0, eq));
    if (!valid_label(w.point)) return bad("'" + w.point + "' is not a point label");
    rest = rest.substr(eq + 1);
  }
  const auto dots = rest.find("..");
  if (dots == std::string_view::npos) return bad("expected [POINT=]START..END");
  auto time = [&](std::string_view t, const char* which) {
    const std::string text = trim(t);
    StatedTime st;
    std::optional<int64_t> v;
    if (!text.empty() && text[0] == '+') {
      st.relative = true;
      v = parse_seconds(std::string_view(text).substr(1));
    } else {
      v = parse_time(text);
    }
    if (!v)
      bad(std::string(which) + " '" + text +
          "' is not a time: give RFC 3339 (2026-12-04T20:47:27Z), seconds since 1970, or +SECONDS after the "
          "run's first frame");
    st.ns = *v;
    return st;
  };
  w.start = time(rest.substr(0, dots), "start");
  w.end = time(rest.substr(dots + 2), "end");
  if (w.start.relative == w.end.relative && w.end.ns <= w.start.ns) return bad("its end is not after its start");
  return w;
}

std::pair<std::string, int64_t> parse_clock_arg(const std::string& arg) {
  const auto eq = arg.find('=');
  const std::string host = trim(std::string_view(arg).substr(0, eq == std::string::npos ? 0 : eq));
  const auto lead = eq == std::string::npos ? std::nullopt : parse_lead(trim(std::string_view(arg).substr(eq + 1)));
  if (!lead || !valid_label(host))
    throw Error(ExitCode::kUsage, "--clock '" + arg +
                                      "': expected HOST=±SECONDS, how far HOST's clock runs ahead (+) or behind (-), "
                                      "e.g. vm1=+30 or hv2=-0.25");
  return {host, *lead};
}

void set_files(Point& p, const std::vector<std::string>& names, const std::string& dir) {
  namespace fs = std::filesystem;
  p.files.clear();
  p.pick.clear();
  std::string shown;
  for (const std::string& given : names) {
    std::string name = trim(given);
    auto resolve = [&](const std::string& n) {
      const fs::path f(n);
      return (n == "-" || f.is_absolute() || dir.empty()) ? n : (fs::path(dir) / f).string();
    };
    std::error_code ec;
    std::string path = resolve(name);
    if (!fs::exists(path, ec)) {
      if (const auto hash = name.rfind('#'); hash != std::string::npos && name.find('/', hash) == std::string::npos) {
        std::string pick = name.substr(hash + 1);
        if (pick.empty()) usage("point " + p.label + ": '" + name + "': no interface after '#'");
        if (!p.pick.empty() && p.pick != pick)
          usage("point " + p.label + ": two interfaces, '" + p.pick + "' and '" + pick + "': a point reads one");
        p.pick = pick;
        name = name.substr(0, hash);
        path = resolve(name);
      }
    }
    if (name.empty()) usage("point " + p.label + ": an empty file name");
    shown += (shown.empty() ? "" : ",") + path;
    if (has_glob(name) && !fs::exists(path, ec)) {
      glob_t g{};
      const int rc = ::glob(path.c_str(), 0, nullptr, &g);
      std::vector<std::string> found;
      for (std::size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) found.emplace_back(g.gl_pathv[i]);
      ::globfree(&g);
      if (found.empty()) throw Error(ExitCode::kInput, "point " + p.label + ": '" + path + "' matches no file");
      p.files.insert(p.files.end(), found.begin(), found.end());
    } else {
      p.files.push_back(path);
    }
  }
  if (p.files.empty()) usage("point " + p.label + ": no capture file");
  // One file twice (a glob and a name, a link to it) would count each of its packets twice.
  std::map<std::pair<dev_t, ino_t>, const std::string*> seen;
  for (const std::string& f : p.files) {
    struct stat st {};
    if (f == "-" || ::stat(f.c_str(), &st) != 0) continue;  // opening it says what is wrong
    const auto [at, added] = seen.emplace(std::pair{st.st_dev, st.st_ino}, &f);
    if (!added) {
      const std::string& first = *at->second;
      usage("point " + p.label + ": " + (first == f ? f + " is given twice" : first + " and " + f + " are the same file") +
            " (read twice, each of its packets would count twice)");
    }
  }
  p.source = (shown == "-" ? "standard input" : shown) + (p.pick.empty() ? "" : "#" + p.pick);
}

Point parse_point_arg(std::string_view arg) {
  const auto eq = arg.find('=');
  if (eq == std::string_view::npos)
    usage("point '" + std::string(arg) + "': expected LABEL[:ROLE[:IFACE[@HOST]]]=FILE");
  Point p;
  const std::string files(arg.substr(eq + 1));
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
  if (files.empty()) usage("point " + p.label + ": no capture file after '='");
  // A comma-separated list, unless the whole text names a file.
  std::vector<std::string> names;
  std::error_code ec;
  if (std::filesystem::exists(files, ec)) {
    names.push_back(files);
  } else {
    for (std::size_t start = 0; start <= files.size();) {
      const auto comma = std::min(files.find(',', start), files.size());
      names.push_back(files.substr(start, comma - start));
      start = comma + 1;
    }
  }
  set_files(p, names, "");
  return p;
}

std::vector<Point> interface_points(const std::string& file,
                                    const std::vector<std::pair<std::string, std::string>>& interfaces) {
  std::vector<Point> out;
  for (std::size_t i = 0; i < interfaces.size(); ++i) {
    const auto& [name, description] = interfaces[i];
    Point p;
    const std::string first = name.substr(0, name.find(' '));
    for (char c : first.substr(0, 32))
      p.label += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
    if (p.label.empty()) p.label = "if" + std::to_string(i);
    const std::string base = p.label;
    for (int n = 2; std::any_of(out.begin(), out.end(), [&](const Point& q) { return q.label == p.label; }); ++n)
      p.label = base.substr(0, 29) + "-" + std::to_string(n);
    p.iface = first.size() < name.size() ? trim(name.substr(first.size())) : name;
    // `pathtrace export` describes its interfaces as "point C (qbr) qbrbdd1f2c3-bd@hv1 …".
    const std::string intro = "point " + first + " (";
    if (description.rfind(intro, 0) == 0) {
      const auto close = description.find(')', intro.size());
      if (close != std::string::npos) p.role = description.substr(intro.size(), close - intro.size());
      const auto at = description.find('@', close);
      if (close != std::string::npos && at != std::string::npos)
        p.host = description.substr(at + 1, description.find(' ', at) - at - 1);
    }
    set_files(p, {file}, "");
    p.pick = std::to_string(i);
    p.source = file + "#" + p.pick;
    out.push_back(std::move(p));
  }
  return out;
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
    const std::string at = "inventory " + path + ": point " + p.label;
    if (p.host.empty()) p.host = "local";
    std::vector<std::string> names;
    if (!file.empty()) names.push_back(file);
    if (const toml::node* v = t->get("files")) {
      const toml::array* a = v->as_array();
      if (!a) usage(at + ": 'files' must be an array of strings");
      for (const auto& f : *a) {
        if (!f.is_string()) usage(at + ": 'files' must be an array of strings");
        names.push_back(trim(f.as_string()->get()));
      }
      if (!file.empty()) usage(at + ": 'file' and 'files' exclude each other");
      if (names.empty()) usage(at + ": 'files' is empty");
    }
    if (!names.empty()) set_files(p, names, dir.string());
    const toml::node* start = t->get("start");
    const toml::node* stop = t->get("stop");
    if (start || stop) {
      if (!start || !stop) usage(at + ": '" + std::string(start ? "start" : "stop") + "' without '" +
                                 (start ? "stop" : "start") + "': a capture window needs both");
      const auto from = toml_time(*start), to = toml_time(*stop);
      for (const auto& [key, value] : {std::pair{"start", from}, std::pair{"stop", to}})
        if (!value)
          usage(at + ": '" + key +
                "' is not a time: give RFC 3339 (\"2026-12-04T20:47:27Z\", or a TOML date-time with its offset) "
                "or seconds since 1970");
      if (*to <= *from) usage(at + ": its stop is not after its start");
      p.start_ns = *from;
      p.end_ns = *to;
      p.window_known = true;
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
    for (const auto& entry : *t) {
      const toml::node& v = entry.second;  // not a structured binding: clang 14 cannot capture those
      const std::string name(entry.first.str());
      auto str = [&]() {
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
      } else if (name == "clock") {
        std::optional<int64_t> ns;
        if (v.is_integer() || v.is_floating_point()) {
          const double d = v.is_integer() ? double(v.as_integer()->get()) : v.as_floating_point()->get();
          if (std::isfinite(d) && std::fabs(d) <= 1e9) ns = std::llround(d * 1e9);
        } else if (v.is_string()) {
          ns = parse_lead(str());
        }
        if (!ns) usage(where + ": 'clock' must be the seconds its clock runs ahead (+) or behind (-), e.g. 30 or -0.25");
        h.clock_ns = ns;
      } else if (name == "mode") {
        const std::string m = str();
        if (m == "agent") h.mode = Host::Mode::kAgent;
        else if (m == "agentless") h.mode = Host::Mode::kAgentless;
        else usage(where + ": mode '" + m + "' must be \"agent\" or \"agentless\"");
      } else {
        usage(where + ": unknown key '" + name + "' (ssh, port, identity, options, pathtrace, sudo, mode, clock)");
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
  std::string stdin_reader;
  for (const Point& p : points) {
    if (std::find(p.files.begin(), p.files.end(), "-") == p.files.end()) continue;
    if (!stdin_reader.empty())
      usage("points " + stdin_reader + " and " + p.label + " both read standard input ('-'): one point at most");
    stdin_reader = p.label;
  }
}

}  // namespace pathtrace::inventory
