#pragma once
// `pathtrace export`: the kept frames (--keep-bytes) of a stored run as one pcapng file for
// Wireshark and tshark: an interface per point, the packets in time order across points, each
// with a comment naming the point that saw it and the verdict of its traversal.
//
//   store ──scan_traversals──▶ the selected sightings (all, --lost, --flow), sorted by time
//   store ──scan_kept (time order) or scan_kept_digests (a small selection)──▶ frames that
//        match a selected sighting (run, point, ts_ns, digest) ──▶ PcapngWriter

#include <cstdint>
#include <optional>
#include <string>

#include "collector/common/output_file.hpp"
#include "correlator/model/model.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::evidence {

// The comment of a packet seen at point `ord` on traversal `t`:
// "point C (qbr qbrbdd1f2c3-bd): IPIP 198.18.0.1 → 198.18.0.20: lost between C and B"
// (or ": delivered", ": not judged (outside the common window)", ": not judged (seen at
// neither end)"). An ord outside the report's points is named by its number.
std::string packet_comment(const Report& r, uint8_t ord, const Traversal& t);

// The file format: pcapng (an interface per point, a comment per packet) or classic pcap (one
// link type, no interfaces, no comments).
enum class ExportFormat : uint8_t { kPcapng, kPcap };

// The format a file name asks for: .pcapng (or .ntar) or .pcap (or .cap). Throws Error(kUsage)
// for any other name, saying which to use.
ExportFormat export_format(const std::string& path);

// What to export.
struct ExportRequest {
  int64_t run = 0;               // 0: the newest
  bool lost = false;             // only the packets that vanished (every point that saw them)
  std::optional<uint32_t> flow;  // only this flow (top-level or inner id)
  std::string path;              // the file to write
  ExportFormat format = ExportFormat::kPcapng;
  Existing existing = Existing::kRefuse;  // a file at `path`: refused, or replaced (--force)
};
// What was written.
struct ExportSummary {
  uint64_t packets = 0, points = 0, lost_packets = 0;
  uint64_t missing = 0;  // selected sightings that had no kept bytes
};

// Writes the selected packets' kept frames to req.path, created as every output file is
// (collector/common/output_file.hpp: 0600, never through a link; on failure nothing is left
// behind and a file already there is untouched). A capturing or interrupted run exports what
// it committed. Throws Error: kUsage (unknown run or flow, a run without kept frames, an
// output file that exists (req.existing kRefuse) or cannot be written), kDatabase.
ExportSummary export_pcapng(Store& store, const ExportRequest& req);

}  // namespace pathtrace::evidence
