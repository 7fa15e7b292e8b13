#include "collector/common/log_text.hpp"

#include <algorithm>

namespace pathtrace {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void hex_byte(std::string& out, unsigned char b) {
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 15];
}

// Length of the valid UTF-8 sequence at s[i] and its code point; 0 when it is not one
// (bad lead byte, missing or bad continuation, overlong form, surrogate, beyond U+10FFFF).
std::size_t utf8_at(std::string_view s, std::size_t i, uint32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

// C1 controls and the characters that reorder text on display (bidi embeddings, overrides,
// isolates) or hide it (line/paragraph separators).
bool invisible_control(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

}  // namespace

std::string escape_text(std::string_view s, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    if (out.size() >= max_bytes) {
      out += "\u2026 (" + std::to_string(s.size()) + " bytes)";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\') out += "\\\\";
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else hex_byte(out, c);
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const std::size_t n = utf8_at(s, i, cp);
    if (n == 0) {
      hex_byte(out, c);
      ++i;
      continue;
    }
    if (invisible_control(cp)) {
      out += cp <= 0xFF ? "\\x" : "\\u";
      const int digits = cp <= 0xFF ? 2 : 4;
      for (int d = digits - 1; d >= 0; --d) out += kHex[(cp >> (4 * d)) & 15];
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string RepeatLimiter::count_line(const Kind& k) {
  return "\u2026 " + std::to_string(k.held) + " more like: " + k.example;
}

std::vector<std::string> RepeatLimiter::pass(const std::string& kind, std::string line, Clock::time_point now) {
  std::vector<std::string> out;
  auto [it, fresh] = kinds_.try_emplace(kind);
  Kind& k = it->second;
  if (fresh) k.since = now;
  if (now - k.since >= period_) {
    if (k.held) {
      out.push_back(count_line(k));
      k.held = 0;
      k.example.clear();
      --holding_;
    }
    k.since = now;
    k.passed = 0;
  }
  if (k.passed < burst_) {
    ++k.passed;
    out.push_back(std::move(line));
  } else {
    if (k.held++ == 0) {
      k.example = std::move(line);
      ++holding_;
    }
  }
  return out;
}

std::vector<std::string> RepeatLimiter::flush(Clock::time_point now) {
  std::vector<std::string> out;
  for (auto it = kinds_.begin(); it != kinds_.end();) {
    Kind& k = it->second;
    if (k.held) {
      out.push_back(count_line(k));
      k.held = 0;
      k.example.clear();
      --holding_;
    }
    if (now - k.since >= period_) it = kinds_.erase(it);
    else ++it;
  }
  return out;
}

}  // namespace pathtrace
