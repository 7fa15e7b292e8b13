#include "correlator/server/collection.hpp"

#include <algorithm>

#include "collector/common/log_text.hpp"

namespace pathtrace::server {
namespace {

// Content key of a chain: the stack text and the raw flow keys.
std::string chain_key(const wire::ChainEntry& c) {
  std::string k = c.stack;
  k.push_back('\0');
  for (const auto& f : c.ip) {
    k.append(reinterpret_cast<const char*>(f.src.data()), f.src.size());
    k.append(reinterpret_cast<const char*>(f.dst.data()), f.dst.size());
    const uint8_t rest[6] = {uint8_t(f.sport), uint8_t(f.sport >> 8), uint8_t(f.dport),
                             uint8_t(f.dport >> 8), f.version, f.proto};
    k.append(reinterpret_cast<const char*>(rest), sizeof rest);
  }
  return k;
}

std::string software_of(const wire::Hello& h) {
  return h.software.empty() ? "software not reported" : h.software;
}

}  // namespace

Collection::Collection(std::vector<Point> points, bool strict)
    : strict_(strict), points_(std::move(points)) {
  for (std::size_t i = 0; i < points_.size(); ++i) {
    points_[i].ord = static_cast<uint8_t>(i);
    if (points_[i].source.empty()) points_[i].source = "live";
  }
  status_.resize(points_.size());
  claimed_.resize(points_.size(), false);
  before_.resize(points_.size());
}

int Collection::find_label(const std::string& label) const {
  for (std::size_t i = 0; i < points_.size(); ++i)
    if (points_[i].label == label) return static_cast<int>(i);
  return -1;
}

std::string Collection::admit(const wire::Hello& h) {
  std::lock_guard lk(m_);
  if (h.point.empty()) return "no point label in HELLO";
  if (escape_text(h.point, 64) != h.point) return "point label " + escape_text(h.point, 64) + " is not plain text";
  // One digest definition per run: sightings of two versions would never match.
  if (digest_ != 0 && h.digest != digest_) {
    std::string why = "point " + h.point + ": its collector computes digest v" +
                      std::to_string(h.digest) + " (" + software_of(h) + "); the run's other points use v" +
                      std::to_string(digest_);
    if (h.digest < digest_) return why + " \u2014 upgrade it";
    std::string others;
    for (const Seen& s : seen_) {
      if (s.digest != digest_) continue;
      others += (others.empty() ? "" : ", ") + s.label + " (" + s.software + ")";
    }
    return why + ": " + others + " \u2014 upgrade them";
  }
  int i = find_label(h.point);
  if (i < 0) {
    if (strict_) return "unknown point " + h.point;
    if (points_.size() >= kMaxPoints) return "more than " + std::to_string(kMaxPoints) + " points";
    Point p;
    p.label = h.point;
    p.ord = static_cast<uint8_t>(points_.size());
    p.source = "live";
    points_.push_back(p);
    status_.emplace_back();
    claimed_.push_back(false);
    before_.emplace_back();
    i = static_cast<int>(points_.size() - 1);
  }
  if (claimed_[static_cast<std::size_t>(i)]) return "point " + h.point + " is already connected";
  claimed_[static_cast<std::size_t>(i)] = true;
  if (digest_ == 0) digest_ = h.digest;
  if (std::none_of(seen_.begin(), seen_.end(), [&](const Seen& s) { return s.label == h.point; }))
    seen_.push_back(Seen{h.point, h.digest, software_of(h)});  // once per point, reconnects included
  return {};
}

void Collection::release(const wire::Hello& h) {
  std::lock_guard lk(m_);
  if (const int i = find_label(h.point); i >= 0) claimed_[static_cast<std::size_t>(i)] = false;
}

uint32_t Collection::digest_version() const {
  std::lock_guard lk(m_);
  return digest_;
}

void Collection::on_hello(uint32_t session, const wire::Hello& h, const std::string& peer) {
  std::lock_guard lk(m_);
  int i = find_label(h.point);
  if (i < 0) {  // admitted without admit() (no admit hook installed)
    Point p;
    p.label = escape_text(h.point, 64);
    p.ord = static_cast<uint8_t>(points_.size());
    p.source = "live";
    points_.push_back(p);
    status_.emplace_back();
    claimed_.push_back(true);
    before_.emplace_back();
    i = static_cast<int>(points_.size() - 1);
  }
  // Admitted without admit(): nobody checked the digest version, so a mismatch is only
  // recorded here (take() warns).
  if (std::none_of(seen_.begin(), seen_.end(), [&](const Seen& s) { return s.label == h.point; })) {
    if (digest_ == 0) digest_ = h.digest;
    seen_.push_back(Seen{h.point, h.digest, software_of(h)});
  }
  Point& p = points_[static_cast<std::size_t>(i)];
  // What a collector says of itself is printed in reports: escaped like every text from the network.
  if (!h.host.empty() && (p.host.empty() || p.host == "local")) p.host = escape_text(h.host, 256);
  p.netns = escape_text(h.netns, 256);
  p.iface = escape_text(h.iface, 256);
  p.source = "live";
  PointStatus& st = status_[static_cast<std::size_t>(i)];
  st.connected = true;
  ++st.sessions;
  st.ended = st.clean = false;  // a reconnecting collector: its point is running again
  st.end_reason.clear();
  st.peer = peer;
  sessions_[session] = Session{static_cast<uint8_t>(i), {}, h.linktype, h.keep_bytes > 0, {}};
}

void Collection::on_chain(uint32_t session, const wire::ChainEntry& c) {
  std::lock_guard lk(m_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto [pos, fresh] = chain_index_.try_emplace(chain_key(c), static_cast<uint32_t>(chains_.size()));
  if (fresh) chains_.push_back(Chain{c.stack, c.ip});
  auto& map = it->second.chain_map;
  if (c.id >= map.size()) map.resize(c.id + 1, 0);
  map[c.id] = pos->second;
  ++status_[it->second.ord].chains;
}

void Collection::on_records(uint32_t session, uint64_t, std::span<const wire::Record> recs) {
  std::unique_lock lk(m_);
  drained_cv_.wait(lk, [this] { return !pressure_limit_ || sightings_.size() <= 2 * pressure_limit_; });
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  const uint8_t ord = it->second.ord;
  const auto& map = it->second.chain_map;
  for (const auto& r : recs) {
    // The server checked that every chain id was announced.
    sightings_.push_back(Sighting{r.digest, r.ts_ns, map[r.chain],
                                  static_cast<uint16_t>(std::min<uint32_t>(r.wire_len, 0xffff)),
                                  ord, r.tcp_flags});
  }
  if (!recs.empty()) {
    if (last_ts_.size() <= ord) last_ts_.resize(std::size_t(ord) + 1, 0);
    last_ts_[ord] = recs.back().ts_ns;
  }
  status_[ord].records += recs.size();
  if (it->second.keeps_bytes) it->second.last_batch.assign(recs.begin(), recs.end());
  if (pressure_limit_ && pressure_armed_ && sightings_.size() > pressure_limit_) {
    pressure_armed_ = false;
    pressure_wake_();
  }
}

void Collection::on_kept(uint32_t session, const wire::Kept& k) {
  std::lock_guard lk(m_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  const Session& s = it->second;
  // The server checked that the KEPT frame follows its RECORDS frame, record for record.
  if (s.last_batch.size() != k.lens.size()) return;
  std::size_t off = 0;
  for (std::size_t i = 0; i < k.lens.size(); ++i) {
    const wire::Record& r = s.last_batch[i];
    if (k.lens[i])
      kept_.add(s.ord, r.digest, r.ts_ns, r.wire_len, s.linktype,
                std::span(k.data.data() + off, k.lens[i]), k.lens[i]);
    off += k.lens[i];
  }
}

void Collection::on_gap(uint32_t session, uint64_t expected, uint64_t got) {
  std::lock_guard lk(m_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  status_[it->second.ord].records_lost += got - expected;
  points_[it->second.ord].records_lost += got - expected;
}

// The point's counters: its ended sessions' plus this session's (cumulative) statistics; its
// window: this session's, or an ended session's when that one was longer.
void Collection::apply_stats(std::size_t ord, const wire::Stats& s) {
  Point& p = points_[ord];
  const Before& b = before_[ord];
  packet::FrameCounts& f = p;
  f = s;
  f.packets += b.frames.packets;
  f.bytes += b.frames.bytes;
  f.digested += b.frames.digested;
  f.filtered += b.frames.filtered;
  f.over_mtu += b.frames.over_mtu;
  for (std::size_t k = 0; k < f.discarded.size(); ++k) f.discarded[k] += b.frames.discarded[k];
  p.pcap_drop = b.pcap_drop + s.ps_drop;
  p.if_drop = b.if_drop + s.ps_ifdrop;
  if (s.capture_start_ns) {
    p.start_ns = s.capture_start_ns;
    p.end_ns = std::max({s.sent_at_ns, s.last_packet_ns, s.capture_start_ns});
    p.window_known = true;
  }
  if (b.end_ns - b.start_ns > p.end_ns - p.start_ns) {
    p.start_ns = b.start_ns;
    p.end_ns = b.end_ns;
    p.window_known = true;
  }
}

void Collection::on_stats(uint32_t session, const wire::Stats& s) {
  std::lock_guard lk(m_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  apply_stats(it->second.ord, s);
  auto& st = status_[it->second.ord];
  ++st.stats_frames;
  st.last_stats_ns = s.sent_at_ns;
}

void Collection::on_end(uint32_t session, const SessionEnd& e) {
  std::lock_guard lk(m_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  const uint8_t ord = it->second.ord;
  Point& p = points_[ord];
  Before& b = before_[ord];
  if (e.has_stats) apply_stats(ord, e.final_stats);
  // Gaps + the tail the statistics promised, over every session: records lost on the way,
  // across a reconnect too, are the point's own capture loss.
  p.records_lost = b.records_lost + e.records_lost;
  PointStatus& st = status_[ord];
  st.ended = true;
  st.clean = e.clean;
  st.end_reason = e.reason;
  st.records_lost = p.records_lost;
  if (e.has_stats) st.last_stats_ns = e.final_stats.sent_at_ns;
  int64_t start = e.has_stats ? e.final_stats.capture_start_ns : 0;
  int64_t end = e.has_stats ? std::max({e.final_stats.sent_at_ns, e.final_stats.last_packet_ns, start}) : 0;
  if (!e.clean && st.records && start) {
    // Unclean end: the capture window closes at the last thing we know it saw.
    if (ord < last_ts_.size() && last_ts_[ord]) end = std::max(end, last_ts_[ord]);
  }
  if (start && end - start >= p.end_ns - p.start_ns) {
    p.start_ns = start;
    p.end_ns = end;
  }
  // What the next session of this point (a reconnect) starts from.
  b.frames = p;
  b.pcap_drop = p.pcap_drop;
  b.if_drop = p.if_drop;
  b.records_lost = p.records_lost;
  b.start_ns = p.start_ns;
  b.end_ns = p.end_ns;
  sessions_.erase(it);
}

std::vector<Point> Collection::points() const {
  std::lock_guard lk(m_);
  return points_;
}

std::vector<PointStatus> Collection::status() const {
  std::lock_guard lk(m_);
  return status_;
}

std::size_t Collection::sightings() const {
  std::lock_guard lk(m_);
  return forgotten_ + sightings_.size();
}

std::size_t Collection::held() const {
  std::lock_guard lk(m_);
  return sightings_.size();
}

void Collection::forget_drained(const std::function<void(std::span<const Sighting>)>& keep) {
  std::lock_guard lk(m_);
  keep(std::span<const Sighting>(sightings_.data(), drained_sightings_));
  sightings_.erase(sightings_.begin(), sightings_.begin() + std::ptrdiff_t(drained_sightings_));
  forgotten_ += drained_sightings_;
  drained_sightings_ = 0;
  pressure_armed_ = true;
  drained_cv_.notify_all();
}

void Collection::on_pressure(std::size_t limit, std::function<void()> wake) {
  std::lock_guard lk(m_);
  pressure_limit_ = wake ? limit : 0;
  pressure_wake_ = std::move(wake);
  pressure_armed_ = true;
  drained_cv_.notify_all();
}

void Collection::drain_new(std::vector<Chain>& new_chains, uint32_t& first_chain,
                           std::vector<Sighting>& new_sightings) {
  std::lock_guard lk(m_);
  first_chain = static_cast<uint32_t>(drained_chains_);
  new_chains.assign(chains_.begin() + std::ptrdiff_t(drained_chains_), chains_.end());
  new_sightings.assign(sightings_.begin() + std::ptrdiff_t(drained_sightings_), sightings_.end());
  drained_chains_ = chains_.size();
  drained_sightings_ = sightings_.size();
}

void Collection::take_kept(KeptFrames& out) {
  std::lock_guard lk(m_);
  out.clear();
  std::swap(out, kept_);
}

Collected Collection::take() {
  std::lock_guard lk(m_);
  Collected out;
  for (std::size_t i = 0; i < points_.size(); ++i) {
    Point& p = points_[i];
    const PointStatus& st = status_[i];
    if (!st.connected) {
      // It never captured: not evidence (the analysis says so in its warnings), so that no
      // packet is counted lost at it.
      p.health.usable = false;
      p.health.problem = HealthProblem::kNoCapture;
      p.health.detail = "no collector connected for it, so it never captured (was `pathtrace collect --point " +
                        p.label + "` started, with this correlator's address and token?)";
    } else if (!st.ended)
      out.warnings.push_back("point " + p.label + ": session still open when the run ended");
    else if (!st.clean)
      out.warnings.push_back("point " + p.label + ": session ended without BYE (" + st.end_reason +
                             "): " + std::to_string(st.records) + " records kept");
    if (st.sessions > 1)
      out.warnings.push_back("point " + p.label + ": its collector reconnected (" + std::to_string(st.sessions) +
                             " sessions): its capture is judged within its longest session only (a packet "
                             "that passed it between two sessions is never blamed on a hop)");
    if (st.records_lost)
      out.warnings.push_back("point " + p.label + ": " + std::to_string(st.records_lost) +
                             " records lost between collector and correlator (its own capture loss)");
  }
  for (const Seen& s : seen_)
    if (s.digest != digest_)
      out.warnings.push_back("point " + s.label + ": its collector computes digest v" +
                             std::to_string(s.digest) + " (" + s.software + "), the run's v" +
                             std::to_string(digest_) + ": none of its packets can match another point's");
  out.digest_version = digest_;
  out.points = std::move(points_);
  out.chains = std::move(chains_);
  out.sightings = std::move(sightings_);
  out.status = std::move(status_);
  points_.clear();
  chains_.clear();
  sightings_.clear();
  status_.clear();
  claimed_.clear();
  before_.clear();
  chain_index_.clear();
  sessions_.clear();
  seen_.clear();
  digest_ = 0;
  drained_chains_ = drained_sightings_ = 0;
  forgotten_ = 0;
  last_ts_.clear();
  return out;
}

}  // namespace pathtrace::server
