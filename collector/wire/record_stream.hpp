#pragma once
// RecordStream: digested packets in, CHAIN / RECORDS / KEPT frames out. What every producer of
// a collector stream does per packet (the live collector, the agentless tcpdump pump):
// intern the packet's chain (announcing it with a CHAIN frame on first sight), batch its
// record, keep its first bytes when asked, and number the batches.
//
//   add(parsed, ts, len, frame) ──▶ pending records (+ kept bytes) ──flush()──▶ Encoder
//
// Pure: no I/O. The caller writes the Encoder's bytes out when it likes.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "collector/common/id_table.hpp"
#include "collector/packet/packet.hpp"
#include "collector/wire/wire.hpp"

namespace pathtrace::wire {

class RecordStream {
 public:
  // Kept bytes that trigger a flush: with the records' lengths the KEPT frame stays well under
  // kMaxFrame whatever the batch size and --keep-bytes.
  static constexpr std::size_t kKeptFlushBytes = 512 << 10;
  // Largest --keep-bytes (a KEPT length is 16 bits).
  static constexpr uint32_t kMaxKeepBytes = 65535;

  // Frames go to `enc`. `batch`: records per RECORDS frame (clamped to 1..kMaxRecordsPerFrame);
  // `keep_bytes`: first bytes of each packet sent in KEPT frames (0 = none; ≤ kMaxKeepBytes).
  RecordStream(Encoder& enc, std::size_t batch, uint32_t keep_bytes)
      : enc_(enc),
        batch_(std::clamp<std::size_t>(batch, 1, kMaxRecordsPerFrame)),
        keep_(std::min(keep_bytes, kMaxKeepBytes)) {
    pending_.reserve(batch_);
  }

  // Adds one digested packet (p.status == kOk) captured at `ts_ns`, `wire_len` bytes long on
  // the wire, `frame` its captured bytes. Encodes a CHAIN frame first for a new chain, and the
  // batch once it is full.
  void add(const packet::Parsed& p, int64_t ts_ns, uint32_t wire_len,
           std::span<const uint8_t> frame) {
    // Packets come in per-flow bursts: a packet whose layer stack and flow keys equal the
    // previous one's needs neither chain_hash nor the map.
    if (!same_chain(p)) intern(p);
    pending_.push_back(Record{p.digest, ts_ns, last_chain_, wire_len, p.tcp_flags});
    if (keep_) {
      const auto n = static_cast<uint16_t>(std::min<std::size_t>(frame.size(), keep_));
      kept_lens_.push_back(n);
      kept_data_.insert(kept_data_.end(), frame.begin(), frame.begin() + n);
    }
    if (pending_.size() >= batch_ || kept_data_.size() >= kKeptFlushBytes) flush();
  }

  // Encodes the records added since the last flush (RECORDS, then KEPT when keeping bytes).
  // Returns how many records it encoded.
  std::size_t flush();

  // Records encoded so far (the next batch's sequence number).
  uint64_t sent() const noexcept { return seq_; }
  // Records added and not yet encoded.
  std::size_t pending() const noexcept { return pending_.size(); }
  uint32_t keep_bytes() const noexcept { return keep_; }

 private:
  void intern(const packet::Parsed& p);
  // Same layer stack and flow keys as the previous packet. Fixed-size compares (the compiler
  // inlines them) instead of element-wise operator==.
  bool same_chain(const packet::Parsed& p) const noexcept {
    static_assert(sizeof(packet::FlowKey) == 38, "FlowKey must have no padding to be compared bytewise");
    if (p.n_layers == 0 || p.n_layers != last_.n_layers || p.n_ip != last_.n_ip) return false;
    for (std::size_t i = 0; i < p.n_ip; ++i)
      if (std::memcmp(&p.ip[i], &last_.ip[i], sizeof(packet::FlowKey)) != 0) return false;
    for (std::size_t i = 0; i < p.n_layers; ++i)
      if (p.layers[i] != last_.layers[i]) return false;
    return true;
  }

  Encoder& enc_;
  std::size_t batch_;
  uint32_t keep_;
  uint64_t seq_ = 0;
  std::vector<Record> pending_;
  std::vector<uint16_t> kept_lens_;
  std::vector<uint8_t> kept_data_;
  IdTable chains_;  // chain_hash → id (a busy port's thousands of flows: no division, no node per chain)
  packet::Parsed last_;                           // n_layers == 0: none yet
  uint32_t last_chain_ = 0;
};

}  // namespace pathtrace::wire
