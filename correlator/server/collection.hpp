#pragma once
// Collection: the in-memory consumer of a live run. Accumulates per-point statistics,
// chains (re-indexed into one global table) and sightings, ready for analyze().
//
//   Server consumer thread ──on_*()──▶ Collection (mutex) ◀──snapshot()/take()── caller

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <span>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "correlator/model/model.hpp"
#include "correlator/server/server.hpp"

namespace pathtrace::server {

// What the collection knows about one point's session(s).
struct PointStatus {
  bool connected = false;   // a HELLO arrived
  uint32_t sessions = 0;    // HELLOs admitted: more than 1 when its collector reconnected
  bool ended = false;       // the session is over
  bool clean = false;       // ... with a BYE
  std::string end_reason;   // BYE's reason or why it ended without one
  std::string peer;         // "127.0.0.1:45678" / stream name
  uint64_t records = 0;     // records received
  uint64_t records_lost = 0;
  uint64_t chains = 0;      // chains announced
  uint64_t stats_frames = 0;
  int64_t last_stats_ns = 0;  // collector's clock at its last STATS/BYE
};

// Everything analyze() needs, moved out of a Collection.
struct Collected {
  std::vector<Point> points;        // path order, points[i].ord == i
  std::vector<Chain> chains;        // one table for all points
  std::vector<Sighting> sightings;  // chain = index into chains, point = ord
  std::vector<std::string> warnings;  // "point C: session ended without BYE (…): 1234 records kept"
  std::vector<PointStatus> status;  // per point, same order
  // How every sighting's digest was computed (wire::Hello::digest of the run's collectors):
  // 0 none connected; 1 pathtrace 0.1.0 (no translation key); 2 packet::translation_key()
  // applies (pairing across NAT). One value per run: admit() refuses a collector of another.
  uint32_t digest_version = 0;
};

class Collection : public Consumer {
 public:
  // `points` in path order (ord is set from the index). HELLOs name their point by label;
  // with `strict`, a label not in `points` is refused by admit(); otherwise it is appended.
  explicit Collection(std::vector<Point> points = {}, bool strict = false);

  // For ServerOptions::admit (thread-safe): "" to admit, or why not ("unknown point Z",
  // "point C is already connected", "more than 64 points", or a collector whose digest
  // version differs from the run's earlier sessions: "point C: its collector computes
  // digest v1 (pathtrace 0.1.0); the run's other points use v2 — upgrade it").
  std::string admit(const wire::Hello& hello);
  // For ServerOptions::release (thread-safe): the session admit() let in for this HELLO's
  // point has ended; a collector may connect for the point again. Its next session adds to
  // the point's records and counters, and take() says the point reconnected.
  void release(const wire::Hello& hello);
  // The digest version of the run's sessions so far (0: none admitted yet).
  uint32_t digest_version() const;

  void on_hello(uint32_t session, const wire::Hello& hello, const std::string& peer) override;
  void on_chain(uint32_t session, const wire::ChainEntry& chain) override;
  void on_records(uint32_t session, uint64_t seq, std::span<const wire::Record> records) override;
  void on_kept(uint32_t session, const wire::Kept& kept) override;
  void on_gap(uint32_t session, uint64_t expected, uint64_t got) override;
  void on_stats(uint32_t session, const wire::Stats& stats) override;
  void on_end(uint32_t session, const SessionEnd& end) override;

  // Copies of the points (with statistics so far) and their status: live counts.
  std::vector<Point> points() const;
  std::vector<PointStatus> status() const;
  // Sightings received so far (held, or let go by forget_drained()).
  std::size_t sightings() const;
  // Sightings held in memory now.
  std::size_t held() const;
  // Lets go the sightings drain_new() has handed out, after `keep` has them (a live run past
  // its memory budget keeps them in files: spill.hpp). take() returns only the others.
  void forget_drained(const std::function<void(std::span<const Sighting>)>& keep);
  // Calls `wake` once the sightings held exceed `limit` (0: never), and again once they do
  // after the next forget_drained(): a live run's stager flushes then instead of at its next
  // tick. Past twice the limit, on_records() waits for forget_drained() (the server's queue
  // then fills, and the collectors wait: a kernel that drops frames meanwhile says so in
  // their counters), so that records that arrive faster than they can be staged (a recorded
  // stream on standard input, many points at full rate on a slow disk) never take more than
  // the budget. `wake` runs under the collection's lock: it may only signal. on_pressure(0, {})
  // ends the waiting.
  void on_pressure(std::size_t limit, std::function<void()> wake);
  // What arrived since the previous call: chains new_chains[k] have global index
  // first_chain + k, and every new sighting refers to a chain returned by this or an earlier
  // call. For staging a live run in the database as it goes (Store::append).
  void drain_new(std::vector<Chain>& new_chains, uint32_t& first_chain,
                 std::vector<Sighting>& new_sightings);
  // Moves the kept frames (--keep-bytes) that arrived since the previous call into `out`
  // (replacing its contents). Analysis does not need them: they go straight to the store.
  void take_kept(KeptFrames& out);
  // Moves everything out (the collection is empty afterwards). Points that never connected
  // keep window_known = false and get a warning. A point whose collector reconnected keeps
  // the capture window of its longest session only: while no collector ran there it was not
  // capturing, and a packet that passed it then must not look lost at a hop.
  Collected take();

 private:
  struct Session {
    uint8_t ord = 0;
    std::vector<uint32_t> chain_map;  // collector chain id → global chain index
    uint32_t linktype = 1;
    bool keeps_bytes = false;             // HELLO's keep_bytes > 0
    std::vector<wire::Record> last_batch;  // the records a KEPT frame refers to
  };
  // What a point's ended sessions add up to, and the longest window among them: a
  // reconnected point's counters are these plus its current session's.
  struct Before {
    packet::FrameCounts frames;
    uint64_t pcap_drop = 0, if_drop = 0, records_lost = 0;
    int64_t start_ns = 0, end_ns = 0;  // longest window of an ended session (0, 0: none)
  };
  void apply_stats(std::size_t ord, const wire::Stats& s);
  int find_label(const std::string& label) const;

  mutable std::mutex m_;
  std::condition_variable drained_cv_;  // forget_drained() or on_pressure() ran
  bool strict_;
  std::vector<Point> points_;
  std::vector<PointStatus> status_;
  std::vector<bool> claimed_;  // admit() gave the label to a session (until release())
  std::vector<Before> before_;  // per point
  uint32_t digest_ = 0;        // digest version of the run's sessions (0: none yet)
  // Every session's point, digest version and software, in order: for the refusal message
  // and for a mismatch that came in without admit() (a warning then).
  struct Seen {
    std::string label;
    uint32_t digest = 0;
    std::string software;
  };
  std::vector<Seen> seen_;
  std::unordered_map<uint32_t, Session> sessions_;
  std::vector<Chain> chains_;
  std::unordered_map<std::string, uint32_t> chain_index_;  // chain content → index
  std::vector<Sighting> sightings_;
  std::size_t forgotten_ = 0;          // sightings forget_drained() let go (kept elsewhere)
  std::size_t pressure_limit_ = 0;     // on_pressure()
  std::function<void()> pressure_wake_;
  bool pressure_armed_ = true;         // wake once more past the limit
  std::vector<int64_t> last_ts_;       // per ord: the time of its latest record (0: none)
  KeptFrames kept_;
  std::size_t drained_chains_ = 0;     // drain_new() has handed out chains_[0, this)
  std::size_t drained_sightings_ = 0;  // ... and sightings_[0, this)
};

}  // namespace pathtrace::server
