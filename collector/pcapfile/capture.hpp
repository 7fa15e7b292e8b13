#pragma once
// One point's capture as the user has it: one file, several files read as one (rotated
// `tcpdump -C/-G` files, or files that overlap: packets merged by timestamp; link types and
// snaplens may differ from file to file), standard input ("-"), and of a pcapng file that
// holds several interfaces (dumpcap -i a -i b, `pathtrace export`) the one the point names.
//
//   a-0.pcap ──Reader─┐   files sorted by their first packet; a file is opened when the
//   a-1.pcap.gz ─Reader─┼──▶ merge reaches its first packet and closed at its end, so rotated
//   a-2.pcap ──Reader─┘   files are read one after the other ──▶ next(): earliest first,
//                                                                 the picked interface only

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/pcapfile/pcapfile.hpp"

namespace pathtrace::pcapfile {

// What the statistics blocks of a capture's files said of its picked interface.
struct CaptureStats {
  // The capture's window: from the earliest start to the latest end, only when every file
  // with packets stated both (isb_starttime, isb_endtime).
  std::optional<int64_t> start_ns, end_ns;
  uint64_t if_drop = 0;  // isb_ifdrop, summed over the files
  uint64_t os_drop = 0;  // isb_osdrop
};

// The packets of one interface of a file: whether there were any, the earliest and latest time.
struct FilePackets {
  bool any = false;
  int64_t first_ns = 0, last_ns = 0;
  void add(int64_t ts_ns) noexcept {
    first_ns = any ? std::min(first_ns, ts_ns) : ts_ns;
    last_ns = any ? std::max(last_ns, ts_ns) : ts_ns;
    any = true;
  }
};

// What the statistics blocks of `file`, read to its end (`st`, per interface), say of the
// interfaces `accept` marks (per index: 1 read), added into `stats`: drops summed; `snaplen`
// the smallest stated (0: none yet); the window widened while every interface with a packet
// (`packets`, per index) stated one that holds its packets (`window`: true before the first
// file, false from the first that did not). A window holds them when it starts no later and ends no earlier than
// they do, give or take a second, read in the interface's units or, failing that, in
// microseconds (dumpcap's); one that holds them either way is not used, and a line in `notes`
// says so: "FILE: the capture window its statistics block states (…) does not hold its
// packets (…): not used".
void add_file_stats(const std::string& file, const std::vector<InterfaceInfo>& ifs,
                    const std::vector<InterfaceStats>& st, const std::vector<uint8_t>& accept,
                    const std::vector<FilePackets>& packets, CaptureStats& stats, bool& window, uint32_t& snaplen,
                    std::vector<std::string>& notes);

// The interfaces of `r` as one line: "#0 eth0, #1 eth1, #2 (no name)".
std::string list_interfaces(const Reader& r);

// Several files of one point, read as one capture (see above).
class Capture {
 public:
  // `files` in any order ("-" for standard input, alone); `pick` the interface to read: its
  // if_name, else a number is its index; "" the only one (a file of several sections, joined
  // rotated captures, may declare it once per section: one name and link type throughout). Opens every file once to find its first packet
  // (and throws as Reader does, naming the file). Throws Error(kUsage) naming the file when a
  // file holds several interfaces and `pick` is "" (listing them and the two ways to pick),
  // when no interface of a file matches `pick`, or when "-" comes with other files.
  Capture(const std::vector<std::string>& files, const std::string& pick);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // The next packet in time order across the files (ties: the file given first); false at
  // the end of the last one. Its data stays valid until the next call. Throws as
  // Reader::next, naming the file; Error(kUsage) when a file without a pick turns out to
  // hold packets of a second interface.
  bool next(Packet& out);

  // The file the last packet came from ("standard input" for "-").
  const std::string& file() const noexcept;
  // One line per file that was cut short: "FILE: cut short at byte N (…): read the K records
  // before it" (Reader::cut()), in the order the files ended.
  const std::vector<std::string>& cuts() const noexcept { return cuts_; }
  // One line per file whose statistics block states a capture window that does not hold its
  // packets (add_file_stats), in the order the files ended.
  const std::vector<std::string>& notes() const noexcept { return notes_; }
  // The smallest snaplen of the picked interface among the files (0: none stated).
  uint32_t snaplen() const noexcept { return snaplen_; }
  // Statistics of the files read to their end.
  const CaptureStats& stats() const noexcept { return stats_; }
  // Bytes read so far and the files' total size (compressed sizes; 0: unknown), for progress.
  std::size_t position() const noexcept;
  std::size_t size() const noexcept { return size_; }

 private:
  struct Source;
  void open(Source& s);
  bool advance(Source& s);  // s.head = its next picked packet; false at its end (then closed)
  void finish(Source& s);
  std::string pick_;
  std::vector<std::unique_ptr<Source>> sources_;  // sorted by first packet
  std::size_t next_closed_ = 0;                   // sources_[next_closed_..] not opened yet
  std::vector<Source*> open_;                     // opened, with a head packet
  Source* advance_next_ = nullptr;                // its head was returned: advance on next()
  std::vector<std::string> cuts_;
  std::vector<std::string> notes_;
  uint32_t snaplen_ = 0;
  CaptureStats stats_;
  bool stats_window_ = true;  // every file read so far stated its window
  std::size_t size_ = 0;
  std::size_t done_bytes_ = 0;  // sizes of the files read to their end
};

}  // namespace pathtrace::pcapfile
