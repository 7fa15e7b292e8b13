// One point's capture from several files, one interface of them. See capture.hpp.

#include "collector/pcapfile/capture.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "collector/common/clock.hpp"
#include "collector/common/error.hpp"

namespace pathtrace::pcapfile {

struct Capture::Source {
  std::string path;
  std::unique_ptr<Reader> reader;  // while open
  std::vector<uint8_t> accept;     // per interface index: its packets are read
  Packet head;                     // open: the next picked packet
  int64_t first_ts = 0;            // its first picked packet
  bool empty = false;              // no picked packet at all
  std::vector<FilePackets> packets;  // per interface index: the picked packets read
  std::size_t size = 0;            // file size (compressed), 0 unknown
};

std::string list_interfaces(const Reader& r) {
  std::string s;
  const auto& ifs = r.interfaces();
  for (std::size_t i = 0; i < ifs.size(); ++i)
    s += (i ? ", #" : "#") + std::to_string(i) + " " + (ifs[i].name.empty() ? "(no name)" : ifs[i].name);
  return s;
}

namespace {

// Which interfaces of `r` `pick` names (see Capture). Throws Error(kUsage) naming `path`.
std::vector<uint8_t> picked(const Reader& r, const std::string& path, const std::string& pick) {
  const auto& ifs = r.interfaces();
  std::vector<uint8_t> accept(ifs.size(), 0);
  auto refuse = [&](const std::string& why) {
    throw Error(ExitCode::kUsage, path + ": " + why + " (" + list_interfaces(r) + "): pick one with " + path +
                                      "#NAME or " + path + "#INDEX, or make one point per interface with "
                                      "--split-interfaces " + path);
  };
  if (pick.empty()) {
    // Rotated captures joined with cat (dumpcap -b files: a section each) declare their one
    // interface once per section: the same name and link type throughout is one interface.
    const bool one = !ifs.empty() && !ifs[0].name.empty() && std::all_of(ifs.begin(), ifs.end(), [&](const InterfaceInfo& i) {
      return i.name == ifs[0].name && i.linktype == ifs[0].linktype;
    });
    if (ifs.size() > 1 && !one) refuse("holds " + std::to_string(ifs.size()) + " interfaces");
    std::fill(accept.begin(), accept.end(), uint8_t(1));
    return accept;
  }
  bool any = false;
  for (std::size_t i = 0; i < ifs.size(); ++i)
    if (ifs[i].name == pick) accept[i] = 1, any = true;
  if (any) return accept;
  std::size_t index = 0;
  const auto [p, ec] = std::from_chars(pick.data(), pick.data() + pick.size(), index);
  if (ec != std::errc() || p != pick.data() + pick.size()) refuse("has no interface named '" + pick + "'");
  if (index >= ifs.size()) refuse("has no interface #" + pick);
  accept[index] = 1;
  return accept;
}

}  // namespace

Capture::Capture(const std::vector<std::string>& files, const std::string& pick) : pick_(pick) {
  if (files.empty()) throw Error(ExitCode::kInternal, "a capture without files");
  if (files.size() > 1 && std::find(files.begin(), files.end(), "-") != files.end())
    throw Error(ExitCode::kUsage, "standard input ('-') is read alone, not with other files");
  for (const std::string& path : files) {
    auto s = std::make_unique<Source>();
    s->path = path == "-" ? "standard input" : path;
    s->reader = std::make_unique<Reader>(path);
    s->size = s->reader->file_size();
    size_ += s->size;
    s->accept = picked(*s->reader, s->path, pick_);
    if (advance(*s)) {
      s->first_ts = s->head.ts_ns;
      if (files.size() > 1) s->reader.reset();  // opened again when the merge reaches it
    } else {
      s->empty = true;
    }
    sources_.push_back(std::move(s));
  }
  std::stable_sort(sources_.begin(), sources_.end(),
                   [](const auto& a, const auto& b) { return a->first_ts < b->first_ts; });
  if (files.size() == 1) {
    next_closed_ = 1;
    if (!sources_[0]->empty) open_.push_back(sources_[0].get());
  }
}

Capture::~Capture() = default;

std::size_t Capture::position() const noexcept {
  std::size_t p = done_bytes_;
  for (const Source* s : open_) p += s->reader->position();
  return p;
}

const std::string& Capture::file() const noexcept {
  static const std::string kNone;
  return advance_next_ ? advance_next_->path : kNone;
}

void Capture::open(Source& s) {
  s.reader = std::make_unique<Reader>(s.path);
  s.accept = picked(*s.reader, s.path, pick_);
  if (advance(s)) open_.push_back(&s);
}

bool Capture::advance(Source& s) {
  while (s.reader->next(s.head)) {
    const uint32_t i = s.head.interface;
    if (i >= s.accept.size()) s.accept = picked(*s.reader, s.path, pick_);  // declared since
    if (s.accept[i]) {
      if (s.packets.size() <= i) s.packets.resize(i + 1);
      s.packets[i].add(s.head.ts_ns);
      return true;
    }
  }
  finish(s);
  return false;
}

void add_file_stats(const std::string& file, const std::vector<InterfaceInfo>& ifs,
                    const std::vector<InterfaceStats>& st, const std::vector<uint8_t>& accept,
                    const std::vector<FilePackets>& packets, CaptureStats& stats, bool& window, uint32_t& snaplen,
                    std::vector<std::string>& notes) {
  constexpr int64_t kSlackNs = 1'000'000'000;
  static const FilePackets kNone;
  for (std::size_t i = 0; i < accept.size() && i < ifs.size(); ++i) {
    if (!accept[i]) continue;
    if (ifs[i].snaplen && (!snaplen || ifs[i].snaplen < snaplen)) snaplen = ifs[i].snaplen;
    if (i >= st.size()) continue;
    if (st[i].if_drop) stats.if_drop += *st[i].if_drop;
    if (st[i].os_drop) stats.os_drop += *st[i].os_drop;
    const FilePackets& seen = i < packets.size() ? packets[i] : kNone;
    if (!seen.any) continue;  // no packet: its window says nothing
    auto holds = [&](const std::optional<int64_t>& start, const std::optional<int64_t>& end) {
      return start && end && *start <= *end && *start <= seen.first_ns + kSlackNs && *end >= seen.last_ns - kSlackNs;
    };
    std::optional<int64_t> start, end;
    if (holds(st[i].start_ns, st[i].end_ns)) {
      start = st[i].start_ns, end = st[i].end_ns;
    } else if (holds(st[i].start_us_ns, st[i].end_us_ns)) {
      start = st[i].start_us_ns, end = st[i].end_us_ns;
    } else if (st[i].start_ns && st[i].end_ns) {
      notes.push_back(file + ": the capture window its statistics block states (" + format_utc(*st[i].start_ns, 3) +
                      " to " + format_utc(*st[i].end_ns, 3) + ") does not hold its packets (" +
                      format_utc(seen.first_ns, 3) + " to " + format_utc(seen.last_ns, 3) + "): not used");
    }
    if (start && window) {
      stats.start_ns = std::min(stats.start_ns.value_or(*start), *start);
      stats.end_ns = std::max(stats.end_ns.value_or(*end), *end);
    } else {
      window = false;
      stats.start_ns.reset();
      stats.end_ns.reset();
    }
  }
}

void Capture::finish(Source& s) {
  const Reader& r = *s.reader;
  if (!r.cut().empty()) cuts_.push_back(s.path + ": " + r.cut());
  add_file_stats(s.path, r.interfaces(), r.interface_stats(), s.accept, s.packets, stats_, stats_window_, snaplen_, notes_);
  done_bytes_ += s.size;
  s.reader.reset();
}

bool Capture::next(Packet& out) {
  if (advance_next_) {
    Source* s = std::exchange(advance_next_, nullptr);
    if (!advance(*s)) open_.erase(std::find(open_.begin(), open_.end(), s));
  }
  Source* best = nullptr;
  for (Source* s : open_)
    if (!best || s->head.ts_ns < best->head.ts_ns) best = s;
  // Open the files whose first packet comes no later than the earliest open one's next.
  while (next_closed_ < sources_.size()) {
    Source& c = *sources_[next_closed_];
    if (!c.empty && best && c.first_ts > best->head.ts_ns) break;
    ++next_closed_;
    if (c.empty) continue;
    open(c);
    if (c.reader && (!best || c.head.ts_ns < best->head.ts_ns)) best = &c;
  }
  if (!best) return false;
  out = best->head;
  advance_next_ = best;
  return true;
}

}  // namespace pathtrace::pcapfile
