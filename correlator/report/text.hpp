#pragma once
// Text for a terminal: tables whose columns line up whatever the labels' length, display
// widths of UTF-8 text, and an ASCII spelling of pathtrace's symbols for terminals whose
// locale is not UTF-8 (LC_ALL=C on a hypervisor).

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pathtrace::report {

// Display columns of UTF-8 text: one per code point ("→" is one column).
std::size_t display_width(std::string_view s) noexcept;

// `s` padded with spaces to `width` columns (on the left when `right`); never cut.
std::string pad(std::string_view s, std::size_t width, bool right = false);

// True when text output may use non-ASCII symbols: the locale's character set (LC_ALL, else
// LC_CTYPE, else LANG) names UTF-8, and PATHTRACE_ASCII is not set.
bool utf8_terminal();

// `text` with pathtrace's own symbols in ASCII when !utf8: → "->", ✗ "x", · "-", µ "u",
// ± "+-", ≤ "<=", ≥ ">=", — "--", … "...", ✓ "ok". Everything else is kept. Unchanged when utf8.
std::string for_terminal(std::string text, bool utf8);

// Rows of cells printed as aligned columns two spaces apart (the last column unpadded), or as
// a JSON array of objects keyed by `keys`.
class Table {
 public:
  // `header`: the column titles; `right`: columns aligned right; `keys`: JSON keys (default:
  // the titles).
  explicit Table(std::vector<std::string> header, std::vector<bool> right = {},
                 std::vector<std::string> keys = {});
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t size() const noexcept { return rows_.size(); }
  // Prints the header and rows, each line prefixed by `indent`.
  void print(std::ostream& out, std::string_view indent = "") const;
  // The rows as an array of objects; a cell of a column in `numeric` becomes a number when it
  // reads as one.
  nlohmann::ordered_json to_json(const std::vector<bool>& numeric = {}) const;

 private:
  std::vector<std::string> header_, keys_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace pathtrace::report
