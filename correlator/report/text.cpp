#include "correlator/report/text.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace pathtrace::report {

std::size_t display_width(std::string_view s) noexcept {
  std::size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps;
}

std::string pad(std::string_view s, std::size_t width, bool right) {
  const std::size_t n = display_width(s);
  if (n >= width) return std::string(s);
  return right ? std::string(width - n, ' ') + std::string(s) : std::string(s) + std::string(width - n, ' ');
}

bool utf8_terminal() {
  if (const char* a = std::getenv("PATHTRACE_ASCII"); a && *a && std::strcmp(a, "0") != 0) return false;
  const char* loc = nullptr;
  for (const char* v : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* x = std::getenv(v);
    if (x && *x) {
      loc = x;
      break;
    }
  }
  if (!loc) return false;  // POSIX/C locale
  std::string l(loc);
  for (auto& c : l) c = char(std::tolower(static_cast<unsigned char>(c)));
  return l.find("utf-8") != std::string::npos || l.find("utf8") != std::string::npos;
}

std::string for_terminal(std::string text, bool utf8) {
  if (utf8) return text;
  static const std::pair<std::string_view, std::string_view> kSymbols[] = {
      {"→", "->"}, {"←", "<-"}, {"✗", "x"}, {"✓", "ok"}, {"·", "-"}, {"µ", "u"}, {"±", "+-"},
      {"≤", "<="}, {"≥", ">="}, {"—", "--"}, {"–", "-"}, {"…", "..."}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      for (const auto& [u, a] : kSymbols) {
        if (text.compare(i, u.size(), u) == 0) {
          out += a;
          i += u.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

Table::Table(std::vector<std::string> header, std::vector<bool> right, std::vector<std::string> keys)
    : header_(std::move(header)), keys_(std::move(keys)), right_(std::move(right)) {
  if (keys_.empty()) keys_ = header_;
  right_.resize(header_.size(), false);
}

void Table::print(std::ostream& out, std::string_view indent) const {
  std::vector<std::size_t> w(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  auto line = [&](const std::vector<std::string>& r) {
    std::string s(indent);
    for (std::size_t i = 0; i < r.size(); ++i) {
      const bool last = i + 1 == r.size();
      s += (i ? "  " : "") + (last && !right_[i] ? r[i] : pad(r[i], i < w.size() ? w[i] : 0, right_[i]));
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();  // empty last columns leave no padding
    out << s << "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

nlohmann::ordered_json Table::to_json(const std::vector<bool>& numeric) const {
  auto arr = nlohmann::ordered_json::array();
  for (const auto& r : rows_) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < r.size() && i < keys_.size(); ++i) {
      if (i < numeric.size() && numeric[i]) {
        int64_t v = 0;
        const auto [p, ec] = std::from_chars(r[i].data(), r[i].data() + r[i].size(), v);
        if (ec == std::errc() && p == r[i].data() + r[i].size()) {
          o[keys_[i]] = v;
          continue;
        }
        if (r[i].empty() || r[i] == "-") {
          o[keys_[i]] = nullptr;
          continue;
        }
      }
      o[keys_[i]] = r[i];
    }
    arr.push_back(std::move(o));
  }
  return arr;
}

}  // namespace pathtrace::report
