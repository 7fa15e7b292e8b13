#pragma once
// `pathtrace export`: the kept frames (--keep-bytes) of a stored run as one pcapng file for
// Wireshark and tshark: an interface per point, the packets in time order across points, each
// with a comment naming the point that saw it and the verdict of its traversal.
//
//   store ──scan_traversals──▶ the selected sightings (all, --lost, --flow), sorted by time
//   store ──scan_kept (time order) or scan_kept_digests (a small selection)──▶ frames that
//        match a selected sighting (run, point, ts_ns, digest) ──▶ PcapngWriter

#include <cstdint>
#include <string>

#include "correlator/analysis/model.hpp"

namespace pathtrace::cli {

// The comment of a packet seen at point `ord` on traversal `t`:
// "point C (qbr qbrbdd1f2c3-bd): IPIP 198.18.0.1 → 198.18.0.20: lost between C and B"
// (or ": delivered", ": not judged (outside the common window)", ": not judged (seen at
// neither end)"). An ord outside the report's points is named by its number.
std::string packet_comment(const Report& r, uint8_t ord, const Traversal& t);

// Runs `pathtrace export` with argv[0] = "export"; returns 0. Throws Error: kUsage (bad
// option, no -w, unknown run or flow, a run without kept frames, an output file that cannot
// be written), kDatabase (missing or unreadable database).
int cmd_export(int argc, char** argv);

}  // namespace pathtrace::cli
