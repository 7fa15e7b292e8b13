// libFuzzer entry for one capture file read in chunks on several threads (pathtrace ingest:
// Reader::find_record, restrict, offset, range_clean). A pcap or pcapng file cut in three where
// find_record() says, each chunk read by a reader of its own, must give exactly the records
// one reader gives — and, of each interface, the last statistics block in file order the one
// the whole read ends with — whenever every chunk stopped exactly where the next begins and
// could be read alone: the conditions on which ingest keeps the chunks (otherwise, or when a
// chunk fails, it reads the file again whole, so what a whole read says is what counts). Also:
// no crash, hang or other exception on any bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "tests/fuzz/fuzz_file.hpp"

namespace {

using pathtrace::pcapfile::InterfaceStats;
using pathtrace::pcapfile::Packet;
using pathtrace::pcapfile::Reader;

struct Record {
  int64_t ts_ns;
  uint32_t wire_len;
  uint32_t linktype;
  uint32_t interface;
  std::vector<uint8_t> bytes;
  bool operator==(const Record&) const = default;
};

void read_all(Reader& r, std::vector<Record>& out) {
  Packet p;
  while (r.next(p)) out.push_back({p.ts_ns, p.wire_len, p.linktype, p.interface, {p.data.begin(), p.data.end()}});
}

bool same(const InterfaceStats& a, const InterfaceStats& b) {
  return a.stated == b.stated && a.start_ns == b.start_ns && a.end_ns == b.end_ns &&
         a.start_us_ns == b.start_us_ns && a.end_us_ns == b.end_us_ns && a.if_recv == b.if_recv &&
         a.if_drop == b.if_drop && a.os_drop == b.os_drop;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using pathtrace::fuzz::check;
  static pathtrace::fuzz::MemoryFile file;
  const std::string& path = file.hold(data, size);
  std::vector<Record> whole;
  std::vector<InterfaceStats> whole_stats;
  std::vector<std::size_t> bounds;
  try {
    Reader r(path);
    if (!r.splittable()) return 0;
    const std::size_t first = r.first_record();
    bounds.push_back(first);
    // The cuts as ingest's planner finds them, from a third and two thirds of the way in.
    for (std::size_t k = 1; k < 3; ++k) {
      const std::size_t at = first + (size - first) * k / 3;
      if (const auto found = r.find_record(std::max(at, bounds.back() + 1), size)) {
        check(*found > bounds.back() && *found < size);
        bounds.push_back(*found);
      }
    }
    read_all(r, whole);
    whole_stats = r.interface_stats();
  } catch (const pathtrace::Error& e) {
    check(e.code() == pathtrace::ExitCode::kInput);
    return 0;  // ingest reports the whole read's error
  }
  bounds.push_back(SIZE_MAX);
  std::vector<Record> split;
  std::vector<InterfaceStats> split_stats;
  for (std::size_t k = 0; k + 1 < bounds.size(); ++k) {
    try {
      Reader r(path);
      r.restrict(bounds[k], bounds[k + 1]);
      read_all(r, split);
      check(r.records() <= whole.size());
      if (!r.range_clean()) return 0;                                          // ingest reads it whole
      if (k + 2 < bounds.size() && r.offset() != bounds[k + 1]) return 0;  // ingest reads it whole
      // As ingest merges them: of each interface the chunks' last statistics block.
      const auto& st = r.interface_stats();
      if (k == 0) split_stats = st;
      for (std::size_t i = 0; i < st.size() && i < split_stats.size(); ++i)
        if (st[i].stated) split_stats[i] = st[i];
    } catch (const pathtrace::Error& e) {
      check(e.code() == pathtrace::ExitCode::kInput);
      return 0;  // ingest reads it whole
    }
  }
  check(split == whole);
  check(split_stats.size() == whole_stats.size());
  for (std::size_t i = 0; i < split_stats.size(); ++i) check(same(split_stats[i], whole_stats[i]));
  return 0;
}
