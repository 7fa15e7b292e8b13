#include "correlator/evidence/export.hpp"


#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/report/render.hpp"
#include "correlator/evidence/trips.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::evidence {

using report::flow_label;
using report::point_where;

namespace {

// Frames of a selection smaller than 1/kDigestReadRatio of the run's traversals are read by
// digest (one index lookup each, held in memory to be sorted); larger selections stream the
// run's frames in time order.
constexpr std::size_t kDigestReadRatio = 8;

// A sighting the export wants the frame of: a frame matches it by point, ts_ns and digest.
struct Wanted {
  int64_t ts_ns = 0;
  uint64_t digest = 0;
  uint8_t ord = 0;
  bool found = false;
  uint32_t trip = 0;  // index into the selected traversals
};

bool wanted_before(const Wanted& a, const Wanted& b) {
  return std::tie(a.ts_ns, a.ord, a.digest) < std::tie(b.ts_ns, b.ord, b.digest);
}

// The wanted sighting a frame belongs to (the first of equal ones not matched yet), or null.
Wanted* match(std::vector<Wanted>& wanted, const KeptFrame& f) {
  const Wanted key{f.ts_ns, f.digest, f.point, false, 0};
  for (auto it = std::lower_bound(wanted.begin(), wanted.end(), key, wanted_before);
       it != wanted.end() && !wanted_before(key, *it); ++it) {
    if (!it->found) return &*it;
  }
  return nullptr;
}

std::string label_of(const Report& r, uint8_t ord) {
  return ord < r.points.size() ? r.points[ord].label : "point " + std::to_string(ord);
}

// The traversal's verdict as a packet comment ends: "lost between C and B", "delivered", ...
std::string verdict_text(const Report& r, const Traversal& t) {
  switch (t.fate) {
    case Fate::kDelivered: return "delivered";
    case Fate::kLost: {
      const uint8_t next = next_point(r, t.last_seen, t.dir);
      if (next == kNoPoint) return "lost after " + label_of(r, t.last_seen);
      return "lost between " + label_of(r, t.last_seen) + " and " + label_of(r, next);
    }
    case Fate::kOutOfWindow: return "not judged (outside the common window)";
    case Fate::kNoEntry: return "not judged (seen at neither end)";
  }
  return "not judged";
}

// Writes the export. pcapng: an interface per point (in path order, described before the
// first packet, with the link type of the first packet written) and one more per point for any
// other link type met; a comment per packet. Classic pcap: one link type for the whole file (a
// frame of another is an error naming it), no interfaces, no comments.
class Output {
 public:
  Output(const std::string& path, const Report& r, ExportFormat format, Existing existing)
      : path_(path), r_(r), format_(format), existing_(existing) {
    if (format_ == ExportFormat::kPcapng) ng_.emplace(path, "pathtrace export", existing);
  }

  void write(const KeptFrame& f, std::span<const uint8_t> bytes, const Traversal& t) {
    if (format_ == ExportFormat::kPcap) {
      if (!pcap_) {
        pcap_.emplace(path_, f.linktype, pcapfile::kDefaultSnaplen, true, existing_);
        pcap_linktype_ = f.linktype;
      }
      if (f.linktype != pcap_linktype_)
        throw Error(ExitCode::kUsage, path_ + ": the selected frames have link types " + std::to_string(pcap_linktype_) +
                                          " and " + std::to_string(f.linktype) +
                                          ", and a .pcap file holds one: write a .pcapng instead");
      pcap_->write(f.ts_ns, bytes, f.wire_len);
    } else {
      if (!described_) describe_points(f.linktype);
      ng_->write(interface(f.point, f.linktype), f.ts_ns, bytes, f.wire_len, packet_comment(r_, f.point, t));
    }
    ++packets_;
    points_.insert(f.point);
  }
  // Describes the points if no packet did (an empty selection), and closes the file.
  void close() {
    if (format_ == ExportFormat::kPcap) {
      if (!pcap_) pcap_.emplace(path_, 1, pcapfile::kDefaultSnaplen, true, existing_);
      pcap_->close();
      return;
    }
    if (!described_) describe_points(1);
    ng_->close();
  }
  uint64_t packets() const { return packets_; }
  std::size_t points() const { return points_.size(); }

 private:
  pcapfile::PcapngWriter::Interface describe(const Point& p, uint32_t linktype) const {
    pcapfile::PcapngWriter::Interface i;
    i.linktype = linktype;
    i.snaplen = 0;  // frames were kept with the run's --keep-bytes: no other limit here
    i.name = p.label + " " + (p.iface.empty() ? point_where(p) : p.iface);
    i.description = "point " + p.label + (p.role.empty() ? "" : " (" + p.role + ")") + " " +
                    point_where(p) + (p.netns.empty() ? "" : " netns " + p.netns);
    return i;
  }
  void describe_points(uint32_t linktype) {
    for (const Point& p : r_.points) ifaces_[{p.ord, linktype}] = ng_->add_interface(describe(p, linktype));
    described_ = true;
  }
  uint32_t interface(uint8_t ord, uint32_t linktype) {
    if (auto it = ifaces_.find({ord, linktype}); it != ifaces_.end()) return it->second;
    Point unknown;
    unknown.label = label_of(r_, ord);
    auto i = describe(ord < r_.points.size() ? r_.points[ord] : unknown, linktype);
    i.name += " linktype " + std::to_string(linktype);
    return ifaces_[{ord, linktype}] = ng_->add_interface(i);
  }

  std::string path_;
  const Report& r_;
  ExportFormat format_;
  Existing existing_;
  std::optional<pcapfile::PcapngWriter> ng_;
  std::optional<pcapfile::Writer> pcap_;
  uint32_t pcap_linktype_ = 0;
  bool described_ = false;
  std::map<std::pair<uint8_t, uint32_t>, uint32_t> ifaces_;  // (ord, linktype) → interface
  uint64_t packets_ = 0;
  std::set<uint8_t> points_;
};

}  // namespace

std::string packet_comment(const Report& r, uint8_t ord, const Traversal& t) {
  const std::string point = ord < r.points.size() ? point_text(r.points[ord]) : label_of(r, ord);
  return "point " + point + ": " + flow_label(r, t.flow) + ": " + verdict_text(r, t);
}

ExportFormat export_format(const std::string& path) {
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".pcapng") || ends(".ntar")) return ExportFormat::kPcapng;
  if (ends(".pcap") || ends(".cap")) return ExportFormat::kPcap;
  throw Error(ExitCode::kUsage, "-w " + path + ": name the file .pcapng (points, comments) or .pcap (one link type, no comments)");
}

ExportSummary export_pcapng(Store& store, const ExportRequest& req) {
  const std::string& out_path = req.path;
  const bool lost = req.lost;
  const uint32_t flow = req.flow.value_or(0);
  check_output_path(out_path, req.existing);  // before the run is read (a .pcap is created at its first frame)
  StoredRun stored = open_run(store, req.run, kPacketScope);
  Report& r = stored.report;
  const int64_t run = r.run_id;
  const std::string run_name = "run " + std::to_string(run);
  if (req.flow) check_flow(r, flow);
  if (!store.has_kept(run))
    throw Error(ExitCode::kUsage,
                run_name + " has no kept frames: it was captured without --keep-bytes. Capture "
                           "with the packets' first bytes, e.g. `pathtrace ingest --keep-bytes 128 "
                           "…` or `pathtrace run --keep-bytes 128 …`, then export that run");
  if (stored.analysed)
    std::cerr << "pathtrace export: " << run_name
              << (stored.status == RunStatus::kCapturing ? " is still capturing" : stored.status == RunStatus::kFailed ? " failed" : " was interrupted")
              << ": exporting the sightings and frames it committed so far\n";

  // The selected traversals and their sightings, in time order.
  std::vector<Traversal> trips;
  std::vector<Wanted> wanted;
  std::size_t all_traversals = 0;
  uint64_t lost_packets = 0;
  if (lost) all_traversals = traversal_count(store, stored);
  scan_trips(
      store, stored, lost ? Trips::kLost : Trips::kAll,
      [&](const Traversal& t) {
        if (!lost) ++all_traversals;
        return lost || !flow || in_flow(t, flow);
      },
      [&](const Trip& trip) {
        lost_packets += trip.t.fate == Fate::kLost;
        for (const PacketSighting& s : trip.sightings)
          wanted.push_back(Wanted{s.ts_ns, trip.t.digest, s.ord, false, uint32_t(trips.size())});
        trips.push_back(trip.t);
      });
  std::sort(wanted.begin(), wanted.end(), wanted_before);
  std::vector<uint32_t> flows;  // named in the frames' comments
  for (const Traversal& t : trips) flows.push_back(t.flow);
  store.load_flows(r, flows);

  std::optional<Output> out;
  try {
    out.emplace(out_path, r, req.format, req.existing);
  } catch (const Error& e) {
    throw Error(ExitCode::kUsage, e.what());  // a bad -w path, like report --html
  }
  try {
    if (trips.size() * kDigestReadRatio < all_traversals) {
      // A small part of the run: its frames by digest, then in time order.
      std::vector<uint64_t> digests;
      for (const Traversal& t : trips) digests.push_back(t.digest);
      std::sort(digests.begin(), digests.end());
      digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
      KeptFrames found;
      std::vector<const Wanted*> of;  // the wanted sighting of each found frame
      store.scan_kept_digests(run, digests, [&](const KeptFrame& f, std::span<const uint8_t> bytes) {
        if (Wanted* w = match(wanted, f)) {
          w->found = true;
          found.add(f.point, f.digest, f.ts_ns, f.wire_len, f.linktype, bytes, bytes.size());
          of.push_back(w);
        }
      });
      std::vector<std::size_t> order(of.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return of[a] < of[b]; });
      for (const std::size_t i : order)
        out->write(found.frames[i], found.bytes(found.frames[i]), trips[of[i]->trip]);
    } else {
      store.scan_kept(run, [&](const KeptFrame& f, std::span<const uint8_t> bytes) {
        if (Wanted* w = match(wanted, f)) {
          w->found = true;
          out->write(f, bytes, trips[w->trip]);
        }
      });
    }
    out->close();
  } catch (const Error& e) {
    // Unwinding destroys `out` uncommitted: no half-written file, an existing one untouched.
    if (e.code() == ExitCode::kInput) throw Error(ExitCode::kUsage, e.what());
    throw;
  }

  ExportSummary sum;
  sum.packets = out->packets();
  sum.points = out->points();
  sum.lost_packets = lost_packets;
  sum.missing = uint64_t(std::count_if(wanted.begin(), wanted.end(), [](const Wanted& w) { return !w.found; }));
  return sum;
}

}  // namespace pathtrace::evidence
