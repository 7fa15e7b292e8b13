#pragma once
// The plain data the correlator works on: points along a path, sightings of packets at
// points, the traversals they group into, and the per-flow, per-hop results.
// Analysis produces these (analysis.hpp), the store writes and reads them (store.hpp), the
// report prints them. No behaviour here beyond tiny helpers.
//
// Path order: point ord 0 is the first point of the path as the user ordered it (A, the VM
// side in the incident), ord n-1 the last (G, the NIC). Hop i joins ord i and ord i+1.
// Hop order never comes from clocks.

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <new>
#include <optional>
#include <ostream>
#include <string_view>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/packet/accounting.hpp"
#include "collector/packet/packet.hpp"
#include "correlator/model/neutron.hpp"

namespace pathtrace {

constexpr std::size_t kMaxPoints = 64;  // seen sets are 64-bit masks
constexpr uint8_t kNoPoint = 0xff;

// Why a point's capture cannot be used as evidence (docs/verdicts.md, "Point health").
enum class HealthProblem : uint8_t {
  kNone = 0,
  kNotIp,         // nearly nothing it captured parsed as IP (a link type that does not match the bytes?)
  kLinkType,      // the file's link type does not match the bytes (the bytes parse as another)
  kSnaplen,       // frames cut too short for the digest (snaplen)
  kIdentical,     // the same capture as another point's
  kVlanFilter,    // saw none of what passed it, and frames there are VLAN-tagged: a VLAN-blind filter?
  kNothingSeen,   // saw none of what passed it (a capture filter that missed it, the wrong interface?)
  kVxlanPort,     // its frames are UDP to a tunnel port that did not decode (--vxlan-port, --geneve-port)
  kNoCapture,     // live: its collector never connected, so it never captured
  kLate,          // usable: its capture started after packets had passed it
  kEarly,         // usable: its capture stopped before packets passed it
};
constexpr std::size_t kHealthProblemCount = 11;
// "", "not_ip", "linktype", "snaplen", "identical", "vlan_filter", "nothing_seen", "vxlan_port",
// "no_capture", "late", "early".
const char* name(HealthProblem) noexcept;

// Whether a point's capture is evidence. An unusable point is left out of the path: the hops
// next to it are judged as one (inconclusive where it matters), never blamed on it. A usable
// point may still have a problem: a capture that started late or stopped early.
struct PointHealth {
  bool usable = true;
  HealthProblem problem = HealthProblem::kNone;
  std::string detail;  // the likely cause, in words, with what to do
};

// Where and how a point captured, and how much of its own capture it lost. Its frame counters
// (packets, bytes, digested, filtered, discarded, over_mtu) are packet::FrameCounts.
struct Point : packet::FrameCounts {
  std::string label;          // "C"
  std::string role;           // "qbr" (may be empty)
  std::string host = "local";
  std::string netns;
  std::string iface;          // "qbrbdd1f2c3-bd" (may be empty for files)
  std::string source;         // capture file path(s) as one line, "standard input", or "live"
  // ingest: the capture files read as this point's one capture ("-": standard input), and
  // the pcapng interface to read of them (its if_name, or its index; "": the only one).
  std::vector<std::string> files;
  std::string pick;
  uint8_t ord = 0;            // position along the path

  // Capture statistics beyond the frame counters.
  uint64_t pcap_drop = 0;     // dropped by the kernel/libpcap (ps_drop, pcapng isb_osdrop)
  uint64_t if_drop = 0;       // dropped by the interface (ps_ifdrop, isb_ifdrop)
  uint64_t records_lost = 0;  // lost between collector and correlator (sequence gaps)
  // When the point was capturing, as stated by the capture itself or the user: a live
  // collector's start and stop, a pcapng statistics block's start and end time, the
  // inventory's start/stop, --window, --assume-capturing. A packet inside it (with the guard)
  // was seen if it passed; outside it the point was not capturing.
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  bool window_known = false;  // false: nothing stated (a plain pcap file), see first/last frame
  // The first and last frame the point captured (any frame, filtered or not; 0: none): the
  // capture was certainly running in between. Before and after, a file alone cannot say.
  int64_t first_frame_ns = 0;
  int64_t last_frame_ns = 0;
  // True when this point's host clock could not be compared with the reference host's (no
  // packet seen on both): its timestamps are not comparable with other hosts' (clocks.hpp).
  bool clock_unknown = false;
  uint32_t snaplen = 0;       // bytes captured per frame (0: unknown)
  PointHealth health;         // whether its capture is evidence at all (point_health.hpp rules)
  // This point's host clock minus the reference host's, already subtracted from its sightings
  // and window (apply_clocks); Store::finish_run moves its staged kept frames by as much.
  int64_t clock_offset_ns = 0;

  // Packets this point lost itself (never blame a hop for these). Parser discards of
  // truncated/malformed frames count: they could have been the flow's packets.
  uint64_t capture_loss() const noexcept { return pcap_drop + if_drop + records_lost + damaged(); }
};

// One packet seen at one point. 24 bytes; millions of them.
struct Sighting {
  uint64_t digest = 0;
  int64_t ts_ns = 0;
  uint32_t chain = 0;     // index into Run::chains (the sighting's stack + flow keys)
  uint16_t wire_len = 0;  // frame length on the wire at this point (saturates at 65535)
  uint8_t point = 0;      // ord
  uint8_t tcp_flags = 0;  // innermost TCP flags, 0 if not TCP
};

// A layer stack's text ("eth/vlan/ipv4[ipip]/ipv4/tcp"), interned for the whole process: a
// run on a busy port has millions of chains but a few dozen stacks, so each chain holds a
// pointer to one shared copy. Reads as a const std::string&; thread-safe.
class StackText {
 public:
  StackText() noexcept;
  StackText(std::string_view text);  // NOLINT: a stack is made from its text
  StackText(const std::string& text) : StackText(std::string_view(text)) {}
  StackText(const char* text) : StackText(std::string_view(text)) {}
  const std::string& str() const noexcept { return *text_; }
  operator const std::string&() const noexcept { return *text_; }  // NOLINT
  bool empty() const noexcept { return text_->empty(); }
  std::size_t size() const noexcept { return text_->size(); }
  friend bool operator==(const StackText& a, const StackText& b) noexcept { return a.text_ == b.text_; }
  friend bool operator==(const StackText& a, std::string_view b) noexcept { return *a.text_ == b; }
  friend bool operator==(const StackText& a, const char* b) noexcept { return *a.text_ == b; }
  friend bool operator==(const StackText& a, const std::string& b) noexcept { return *a.text_ == b; }
  friend std::ostream& operator<<(std::ostream& o, const StackText& t) { return o << *t.text_; }

 private:
  const std::string* text_;
};

// A distinct layer stack with the flow key of every IP layer, outermost first, as seen in
// some frame. Interned per run so a sighting carries only its index.
// A chain's flow keys, outermost first (1..packet::kMaxIpLayers), contiguous like a vector's.
// A run on a busy port has millions of chains and nearly all of them one key: that one is held
// in place (40 bytes, no allocation), only deeper stacks' keys go to the heap.
class FlowKeys {
 public:
  FlowKeys() noexcept = default;
  FlowKeys(std::span<const packet::FlowKey> keys) { assign(keys.begin(), keys.end()); }  // NOLINT
  FlowKeys(const std::vector<packet::FlowKey>& keys) : FlowKeys(std::span(keys)) {}     // NOLINT
  FlowKeys(std::initializer_list<packet::FlowKey> keys) { assign(keys.begin(), keys.end()); }
  FlowKeys(const FlowKeys& o) { assign(o.begin(), o.end()); }
  FlowKeys(FlowKeys&& o) noexcept { take(o); }
  FlowKeys& operator=(const FlowKeys& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  FlowKeys& operator=(FlowKeys&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  ~FlowKeys() { release(); }

  template <class It>
  void assign(It first, It last) {
    const auto n = std::size_t(std::distance(first, last));
    packet::FlowKey* to = nullptr;
    if (n > 1) to = new packet::FlowKey[n];  // before release(): `first` may point into *this
    if (n == 1) {
      const packet::FlowKey key = *first;
      release();
      to = ::new (static_cast<void*>(raw_)) packet::FlowKey(key);
    } else {
      std::copy(first, last, to);
      release();
      if (n > 1) std::memcpy(raw_, &to, sizeof to);
    }
    n_ = uint8_t(n);
  }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  const packet::FlowKey* data() const noexcept {
    if (n_ == 1) return std::launder(reinterpret_cast<const packet::FlowKey*>(raw_));
    packet::FlowKey* many = nullptr;
    if (n_ > 1) std::memcpy(&many, raw_, sizeof many);
    return many;
  }
  const packet::FlowKey* begin() const noexcept { return data(); }
  const packet::FlowKey* end() const noexcept { return data() + n_; }
  const packet::FlowKey& operator[](std::size_t i) const noexcept { return data()[i]; }
  const packet::FlowKey& front() const noexcept { return data()[0]; }
  const packet::FlowKey& back() const noexcept { return data()[n_ - 1]; }
  operator std::span<const packet::FlowKey>() const noexcept { return {data(), n_}; }  // NOLINT
  friend bool operator==(const FlowKeys& a, const FlowKeys& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void release() noexcept {
    if (n_ > 1) delete[] const_cast<packet::FlowKey*>(data());
    n_ = 0;
  }
  void take(FlowKeys& o) noexcept {
    std::memcpy(raw_, o.raw_, sizeof raw_);  // the key itself, or the pointer to the keys
    n_ = o.n_;
    o.n_ = 0;
  }
  alignas(8) unsigned char raw_[sizeof(packet::FlowKey)];  // n_ == 1: the key; n_ > 1: a FlowKey*
  uint8_t n_ = 0;
};
static_assert(sizeof(FlowKeys) == 40);

struct Chain {
  StackText stack;  // "eth/vlan/ipv4[ipip]/ipv4/tcp"
  FlowKeys ip;      // outermost first; never empty
};

// A flow: one IP layer's directional key. Top-level flows (parent 0) are the flows
// traversals belong to; inner flows hang beneath them (parent = the flow one layer out).
struct Flow {
  uint32_t id = 0;        // 1-based, 0 = none
  uint32_t parent = 0;
  packet::FlowKey key;
  // "TCP 198.18.0.1:40000 → 198.18.0.2:80": made from the key when asked (a busy run has
  // millions of flows, and the report names a few of them).
  std::string label() const { return packet::to_string(key); }
};

// Direction of travel along the path.
enum class Dir : uint8_t {
  kForward = 0,  // ord increasing: first point of the path towards the last (A → G)
  kReverse = 1,  // ord decreasing: last point towards the first (G → A)
};

// What became of one packet.
enum class Fate : uint8_t {
  kDelivered = 0,   // seen at both ends of the path
  kLost = 1,        // seen at the entry end, not at the far end: lost after `last_seen`
  kOutOfWindow = 2, // outside the window where every point was capturing: not judged
  kNoEntry = 3,     // neither end saw it (originated or ended mid-path, or entry capture lost it): not judged
};

// The sightings of one digest that belong to one trip along the path.
struct Traversal {
  uint64_t digest = 0;
  uint32_t flow = 0;        // top-level flow (outermost layer every point saw)
  uint32_t inner_flow = 0;  // innermost flow (== flow when there is no inner layer)
  int64_t t0_ns = 0;        // earliest sighting
  uint64_t seen = 0;        // bit ord set when point ord saw it
  uint32_t first = 0;       // index of its first sighting in Run::sightings (sorted by traversal)
  uint16_t count = 0;       // number of sightings (duplicates included)
  Fate fate = Fate::kDelivered;
  Dir dir = Dir::kForward;
  uint8_t entry = kNoPoint;      // ord of the end it entered at
  uint8_t last_seen = kNoPoint;  // furthest ord along its direction that saw it
  uint16_t wire_len = 0;         // wire length at last_seen (what to compare lost vs delivered)
  uint8_t tcp_flags = 0;
  uint8_t assumed = 0;           // kLost only: what its loss at the hop after last_seen assumes (Assume bits)
};

// What a lost packet's hop rests on, when the evidence alone does not carry it (Traversal::assumed).
enum Assume : uint8_t {
  kAssumeWindow = 1,  // the next point was capturing then: its capture shows no frame that early (or late)
  kAssumeClock = 2,   // the next point's host clock agrees with this one's: it could not be compared
  kAssumeEntry = 4,   // it entered the path at the point after the end, which saw none of its flow
};

// Text that is nearly always empty, in 8 bytes instead of a std::string's 32: a hop's `why`
// (every flow result has a hop per pair of points; a few of them say why).
class RareText {
 public:
  RareText() = default;
  RareText(std::string_view s) { assign(s); }
  RareText(const RareText& o) { assign(o.str()); }
  RareText(RareText&&) noexcept = default;
  RareText& operator=(const RareText& o) { return assign(o.str()); }
  RareText& operator=(RareText&&) noexcept = default;
  RareText& operator=(std::string_view s) { return assign(s); }
  RareText& operator+=(std::string_view s) {
    if (!text_) return assign(s);
    *text_ += s;
    return *this;
  }
  bool empty() const noexcept { return !text_; }
  void clear() noexcept { text_.reset(); }
  const std::string& str() const noexcept {
    static const std::string kNone;
    return text_ ? *text_ : kNone;
  }
  operator std::string_view() const noexcept { return str(); }
  friend bool operator==(const RareText& a, const RareText& b) noexcept { return a.str() == b.str(); }
  friend bool operator==(const RareText& a, std::string_view b) noexcept { return a.str() == b; }
  friend std::string operator+(std::string a, const RareText& b) { return a += b.str(); }
  friend std::string operator+(const char* a, const RareText& b) { return a + b.str(); }
  friend std::ostream& operator<<(std::ostream& os, const RareText& t) { return os << t.str(); }

 private:
  RareText& assign(std::string_view s) {
    if (s.empty()) text_.reset();
    else text_ = std::make_unique<std::string>(s);
    return *this;
  }
  std::unique_ptr<std::string> text_;  // null: empty
};

// One hop of one flow in one direction: from → to are ords in travel direction. Packet counts
// are 32-bit: a run holds fewer than 2^32 sightings (pipeline::check_run_size), and a hop
// counts packets of one flow (one per flow result, about a third of its size in memory):
// 48 bytes.
struct HopStat {
  uint8_t from = 0;
  uint8_t to = 0;
  bool inconclusive = false;  // a neighbouring point's own capture could explain the loss: not blamed
  uint32_t in = 0;       // judged packets that reached `from`
  uint32_t out = 0;      // of those, packets that reached `to`
  uint32_t lost = 0;     // in - out
  uint32_t assumed = 0;  // of `lost`: lost here only under an assumption (Traversal::assumed)
  // The delay from `from` to `to`, on the reference clock, over packets seen at both.
  uint32_t delay_samples = 0;
  int64_t delay_min_ns = 0;
  int64_t delay_mean_ns = 0;
  RareText why;  // "point B dropped 12 packets in capture"
  double loss_pct() const noexcept { return in ? 100.0 * double(lost) / double(in) : 0.0; }
};

enum class VerdictKind : uint8_t {
  kDelivered = 0,     // every judged packet reached the far end
  kDisappears = 1,    // at some hop every packet that arrived was lost
  kPartialLoss = 2,   // packets lost, not all: the hop that loses the most
  kInconclusive = 3,  // loss only at hops next to points that lost captures
  kNotJudged = 4,     // nothing inside the common window, or no packet seen at an end
};
constexpr std::size_t kVerdictKindCount = 5;
const char* name(VerdictKind) noexcept;  // "delivered", "disappears", "partial_loss", ...

// An assumption a verdict rests on, stated with it (text and JSON).
struct Assumption {
  std::string kind;                 // "window", "clock", "order", "entry"
  std::vector<std::string> points;  // the points it is about
  std::string text;                 // what is assumed, why, and what would settle it
};

// An address translation found between two points of a flow's path.
struct Translation {
  uint8_t from = 0, to = 0;  // ords, in travel direction
  std::string before, after;  // what changed (translation_text): "198.18.1.10" → "198.19.0.5"
  uint64_t packets = 0;        // packets paired across it
};

// The answer for one top-level flow in one direction.
struct FlowResult {
  uint32_t flow = 0;
  Dir dir = Dir::kForward;
  uint64_t traversals = 0;     // all, judged or not
  uint64_t judged = 0;         // inside the window with the entry end seen
  uint64_t delivered = 0;
  uint64_t lost = 0;
  uint64_t out_of_window = 0;
  uint64_t no_entry = 0;
  // Frames over the MTU at the end the flow entered by, whose wire packets the next point saw as
  // segments (TSO/GSO): not packets on the wire, not judged (docs/verdicts.md rule 4).
  uint64_t aggregated = 0;
  uint64_t duplicates = 0;     // extra sightings of the same packet at the same point
  std::vector<uint32_t> seen_at;   // per ord: judged packets of this flow seen there
  std::vector<uint32_t> holes_at;  // per ord: judged packets that passed a point unseen (capture problem there)
  std::vector<uint32_t> seen_any;  // per ord: packets of this flow seen there, judged or not
  std::vector<HopStat> hops;       // in travel direction, n-1 entries
  VerdictKind verdict = VerdictKind::kNotJudged;
  int hop = -1;                    // index into hops of the headline hop, -1 if none
  std::string summary;             // one line: "disappears between C (qbr…) and B (tap…): 200 of 200 lost"
  std::vector<std::string> findings;  // characterisation of partial loss, warnings, holes
  std::vector<uint32_t> inner_flows;  // flow ids of inner flows seen inside this flow
  uint64_t assumed = 0;               // of `lost`: lost only under an assumption
  std::vector<Assumption> assumptions;   // what the verdict rests on beyond the evidence
  std::vector<Translation> translations; // address translations on the path
};

// One host's clock as the run used it (correlator/analysis/clocks.hpp estimates them).
struct HostClockInfo {
  std::string host;
  bool reference = false;  // the first point's host: offset 0
  bool known = false;      // compared with the reference (else its timestamps were used as they are)
  int64_t offset_ns = 0;   // its clock minus the reference's
  int64_t error_ns = 0;    // ± this much
  uint64_t samples = 0;    // packets that bounded it
  std::string method;      // "both ways", "one way", "given", "reference", "unknown"
};

// Everything about one run needed to print its report.
struct Report {
  int64_t run_id = 0;
  std::string started;   // ISO-8601 UTC
  std::string command;   // how it was made ("pathtrace ingest ...")
  std::string filter;    // as the user typed it, empty for none
  std::vector<Point> points;       // in path order (points[i].ord == i)
  std::vector<Flow> flows;         // all flows, top-level and inner; flows[i].id == i + 1 — or,
                                   // in a partial load, some of them by id (see `omitted`)
  std::vector<FlowResult> results; // top-level flows, most interesting first (in a partial
                                   // load, or an analysed Run's, the first ones: see `omitted`)
  int64_t window_start_ns = 0;     // common capture window used for judging
  int64_t window_end_ns = 0;
  uint64_t sightings = 0;
  std::vector<std::string> warnings;  // run-level: late points, empty captures, ...
  std::vector<HostClockInfo> clocks;  // one per host when the points are on several

  // What a partial load (Store::load with a LoadScope) left in the database: a busy run has
  // millions of flows, and a report or a packet's timeline needs a few of them.
  struct Omitted {
    uint32_t flows = 0;       // flows not in `flows` (then `flows` is sorted by id, with gaps)
    uint64_t results = 0;     // results after the last of `results`: none is lost or inconclusive
    uint64_t delivered = 0;   // of those, delivered (the others: not judged)
  } omitted;

  // The flow with this id, nullptr when the run has none (or it was not loaded).
  const Flow* flow(uint32_t id) const noexcept;
  // How many flows the run has, loaded or not.
  std::size_t flow_count() const noexcept { return flows.size() + omitted.flows; }
  // How many results (top-level flows and directions) the run has, loaded or not.
  std::size_t result_count() const noexcept { return results.size() + std::size_t(omitted.results); }
};

// The first bytes of one captured frame, kept for `pathtrace export` (--keep-bytes N).
// Its bytes are KeptFrames::data[offset, offset + len).
struct KeptFrame {
  uint64_t digest = 0;
  int64_t ts_ns = 0;
  uint32_t wire_len = 0;  // original frame length
  uint32_t linktype = 1;  // LINKTYPE_* of the capture
  uint32_t offset = 0;
  uint16_t len = 0;       // bytes kept: min(captured length, N)
  uint8_t point = 0;      // ord
};

// Kept frames with their bytes in one buffer (no allocation per frame).
struct KeptFrames {
  std::vector<KeptFrame> frames;
  std::vector<uint8_t> data;

  // Appends a frame and the first `keep` bytes of `bytes`.
  void add(uint8_t point, uint64_t digest, int64_t ts_ns, uint32_t wire_len, uint32_t linktype,
           std::span<const uint8_t> bytes, std::size_t keep) {
    const auto n = static_cast<uint16_t>(std::min<std::size_t>({bytes.size(), keep, 0xffff}));
    frames.push_back(KeptFrame{digest, ts_ns, wire_len, linktype,
                               static_cast<uint32_t>(data.size()), n, point});
    data.insert(data.end(), bytes.begin(), bytes.begin() + n);
  }
  std::span<const uint8_t> bytes(const KeptFrame& f) const noexcept {
    return {data.data() + f.offset, f.len};
  }
  bool empty() const noexcept { return frames.empty(); }
  void clear() noexcept {
    frames.clear();
    data.clear();
  }
};

// An array held in a file instead of the heap: a run larger than the memory budget
// (correlator/spill) keeps its sightings and traversals so. The file is mapped shared: pages
// read or written are the file's page cache, and the ones a pass has gone by can be let go.
template <class T>
class FileArray {
 public:
  virtual ~FileArray() = default;
  // Every element, in the order written; writable (changes go to the file).
  virtual std::span<T> all() noexcept = 0;
  // The elements before `index` are not needed again soon: their pages may go from memory
  // (read back from the file if they are). Cheap to call often.
  virtual void release_before(std::size_t index) noexcept = 0;
};
using SightingFile = FileArray<Sighting>;
using TraversalFile = FileArray<Traversal>;

// Every flow result of a run, in rank order (docs/verdicts.md rule 8), in little memory. A busy
// port's run has hundreds of thousands of results, nearly all plain: delivered or not judged,
// nothing lost, nothing else to say. Whole, with its hops, point arrays and summary, such a
// result takes about 800 bytes; packed here, about 120. The results that say more stay whole.
//
//   analysis ──add() in any order, then rank()──▶ RankedResults ──at(rank)──▶ store, JSON report
//                                                               └─ Run::list_results ─▶ Report::results

// Whether `r` (of a run with `n_points` points) says nothing beyond its counts: delivered or not
// judged, nothing lost or assumed, no headline hop, holes, findings, assumptions or
// translations, every hop clean, and its per-point arrays and hops the run's size. Such a
// result is packed here, and stored packed (store/result_blocks.hpp).
bool plain(const FlowResult& r, std::size_t n_points);

// A verdict worth a block of its own, ranked before the others: disappears, partial loss,
// inconclusive.
bool interesting(const FlowResult& f);

// How many results beyond the lost and inconclusive ones an analysed run's report holds whole
// (Run::list_results): as many as any report lists (the HTML report's table, report/render.hpp).
inline constexpr std::size_t kListedResults = 1000;

class RankedResults {
 public:
  RankedResults() = default;
  // `results` as they are, in rank order, every one whole (a run put together by hand).
  explicit RankedResults(std::vector<FlowResult> results);

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  // How many are delivered.
  uint64_t delivered() const noexcept { return delivered_; }
  // The result at `rank`: the whole one, or the packed one decoded into `scratch` (the
  // reference is then valid until `scratch` is used again).
  const FlowResult& at(std::size_t rank, FlowResult& scratch) const;
  // The whole result at `rank`, or nullptr when it is packed (a plain one).
  FlowResult* whole(std::size_t rank) noexcept;
  const FlowResult* whole(std::size_t rank) const noexcept;
  // f(result) for every result, in rank order.
  template <class F>
  void for_each(F&& f) const {
    FlowResult scratch;
    for (std::size_t k = 0; k < size(); ++k) f(at(k, scratch));
  }

  // Building, for the analysis: results added one by one (rank = order added so far), then
  // put in rank order once. `n_points`: the run's points, the same for every result.
  void set_points(std::size_t n_points) noexcept { n_points_ = n_points; }
  // Adds `r` after the others: packed when `may_pack` and plain(r), else whole.
  void add(FlowResult&& r, bool may_pack);
  // Ranks the results: the one at position k is the one at position order[k] before (order is
  // a permutation of 0..size()-1).
  void rank(std::span<const uint32_t> order);

 private:
  void pack(const FlowResult& r);
  void unpack(uint64_t entry, FlowResult& out) const;

  // Per rank: (chunk << 40 | offset << 1 | 1) for a packed result, (index in whole_ << 1) for
  // a whole one.
  std::vector<uint64_t> entries_;
  // Packed results' bytes, in chunks that never move (a chunk is never grown past its first
  // capacity: no copy of everything packed so far while packing).
  std::vector<std::vector<uint8_t>> chunks_;
  std::vector<uint8_t> buf_;  // the result being packed
  std::vector<FlowResult> whole_;
  std::size_t n_points_ = 0;
  uint64_t delivered_ = 0;
};

// A whole analysed run: the report plus the traversal-level detail the store keeps.
struct Run {
  // report.results holds the first results (list_results), `results` every one of them.
  Report report;
  RankedResults results;
  std::vector<Chain> chains;          // indexed by Sighting::chain
  std::vector<Traversal> traversals;  // ordered by digest, then t0_ns
  // Instead of `traversals`, for a run larger than the memory budget: the same, in a file.
  std::shared_ptr<TraversalFile> spilled_traversals;
  std::vector<Sighting> sightings;    // grouped by traversal: [t.first, t.first + t.count)
  // Instead of `sightings`, for a run larger than the memory budget: the same, in a file.
  std::shared_ptr<SightingFile> spilled;
  KeptFrames kept;                    // frames' first bytes (--keep-bytes), in any order
  std::optional<NeutronEvidence> neutron;  // discover/explain evidence (run --explain), stored with the run
  // Packets translated on the path (docs/verdicts.md rule 9): the digest a packet had after the
  // translation → the one it had before, which its later sightings are stored under.
  std::unordered_map<uint64_t, uint64_t> renamed;

  // The results a report lists whole, as Store::load with a LoadScope does: report.results :=
  // every result that is lost or inconclusive (they rank first) and the first `others` of the
  // rest, copied from `results`; report.omitted counts the rest.
  void list_results(std::size_t others);

  // The run's sightings, wherever they are (`spilled` or `sightings`).
  std::span<Sighting> all_sightings() noexcept { return spilled ? spilled->all() : std::span<Sighting>(sightings); }
  std::span<const Sighting> all_sightings() const noexcept {
    return spilled ? spilled->all() : std::span<const Sighting>(sightings);
  }
  // A pass over the sightings in order has gone past `index` (FileArray::release_before).
  void release_sightings_before(std::size_t index) const noexcept {
    if (spilled) spilled->release_before(index);
  }
  // The run's traversals, wherever they are (`spilled_traversals` or `traversals`).
  std::span<Traversal> all_traversals() noexcept {
    return spilled_traversals ? spilled_traversals->all() : std::span<Traversal>(traversals);
  }
  std::span<const Traversal> all_traversals() const noexcept {
    return spilled_traversals ? spilled_traversals->all() : std::span<const Traversal>(traversals);
  }
  // A pass over the traversals in order has gone past `index`, and over their sightings.
  void release_traversals_before(std::size_t index) const noexcept {
    if (!spilled_traversals) return;
    const std::span<const Traversal> all = spilled_traversals->all();
    if (index < all.size()) release_sightings_before(all[index].first);
    else release_sightings_before(all_sightings().size());
    spilled_traversals->release_before(index);
  }
};

}  // namespace pathtrace
