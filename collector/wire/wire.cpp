#include "collector/wire/wire.hpp"

#include <bit>
#include <cassert>
#include <cstring>
#include <limits>
#include <type_traits>
#include <nlohmann/json.hpp>

namespace pathtrace::wire {
namespace {

using Json = nlohmann::json;

template <typename Bytes>
void put_u8(Bytes& b, uint8_t v) { b.push_back(v); }
template <typename Bytes>
void put_u16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
template <typename Bytes>
void put_u32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
template <typename Bytes>
void put_varint(Bytes& b, uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<uint8_t>(v));
}
uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// Bounds-checked reader over one payload. Every getter returns false at the end.
class In {
 public:
  explicit In(std::span<const uint8_t> d) : d_(d) {}
  bool u8(uint8_t& v) {
    if (left() < 1) return false;
    v = d_[p_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<uint16_t>(d_[p_] | d_[p_ + 1] << 8);
    p_ += 2;
    return true;
  }
  bool u64(uint64_t& v) {
    if (left() < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | d_[p_ + i];
    p_ += 8;
    return true;
  }
  // LEB128; false when it runs off the end or is longer than 10 bytes (sets overlong).
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (left() < 1) return false;
      const uint8_t b = d_[p_++];
      if (shift == 63 && b > 1) {
        overlong = true;
        return false;
      }
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    overlong = true;
    return false;
  }
  bool bytes(std::size_t n, const uint8_t*& out) {
    if (left() < n) return false;
    out = d_.data() + p_;
    p_ += n;
    return true;
  }
  std::size_t left() const { return d_.size() - p_; }
  bool overlong = false;

 private:
  std::span<const uint8_t> d_;
  std::size_t p_ = 0;
};

// STATS/BYE carry every FrameCounts counter: a counter added there must be added here too.
static_assert(sizeof(packet::FrameCounts) == sizeof(uint64_t) * (5 + packet::kStatusCount),
              "a new packet::FrameCounts counter must be encoded in stats_json and stats_from");

Json stats_json(const Stats& s) {
  Json disc = Json::object();
  for (std::size_t i = 1; i < packet::kStatusCount; ++i)
    disc[std::string(packet::name(static_cast<packet::Status>(i)))] = s.discarded[i];
  return Json{{"packets", s.packets},
              {"bytes", s.bytes},
              {"digested", s.digested},
              {"filtered", s.filtered},
              {"discarded", disc},
              {"ps_recv", s.ps_recv},
              {"ps_drop", s.ps_drop},
              {"ps_ifdrop", s.ps_ifdrop},
              {"over_mtu", s.over_mtu},
              {"capture_start_ns", s.capture_start_ns},
              {"last_packet_ns", s.last_packet_ns},
              {"sent_at_ns", s.sent_at_ns},
              {"records_sent", s.records_sent}};
}

// Field readers for JSON frames: missing optional fields keep their default; a field of
// the wrong type is an error. Required fields are checked by the caller.
template <typename T>
void field(const Json& j, const char* name, T& out) {
  auto it = j.find(name);
  if (it == j.end()) return;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) throw std::runtime_error(std::string("field '") + name + "' is not a string");
    out = it->template get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) throw std::runtime_error(std::string("field '") + name + "' is not a boolean");
    out = it->template get<bool>();
  } else if constexpr (std::is_signed_v<T>) {
    if (!it->is_number_integer()) throw std::runtime_error(std::string("field '") + name + "' is not an integer");
    out = it->template get<T>();
  } else {
    if (!it->is_number_unsigned())
      throw std::runtime_error(std::string("field '") + name + "' is not an unsigned integer");
    const uint64_t v = it->template get<uint64_t>();
    if (v > std::numeric_limits<T>::max())
      throw std::runtime_error(std::string("field '") + name + "' is out of range");
    out = static_cast<T>(v);
  }
}

void require(const Json& j, const char* name) {
  if (!j.contains(name)) throw std::runtime_error(std::string("missing field '") + name + "'");
}

Stats stats_from(const Json& j) {
  if (!j.is_object()) throw std::runtime_error("stats is not an object");
  Stats s;
  require(j, "packets");
  field(j, "packets", s.packets);
  field(j, "bytes", s.bytes);
  field(j, "digested", s.digested);
  field(j, "filtered", s.filtered);
  if (auto it = j.find("discarded"); it != j.end()) {
    if (!it->is_object()) throw std::runtime_error("field 'discarded' is not an object");
    for (std::size_t i = 1; i < packet::kStatusCount; ++i)
      field(*it, std::string(packet::name(static_cast<packet::Status>(i))).c_str(), s.discarded[i]);
  }
  field(j, "ps_recv", s.ps_recv);
  field(j, "ps_drop", s.ps_drop);
  field(j, "ps_ifdrop", s.ps_ifdrop);
  field(j, "over_mtu", s.over_mtu);
  field(j, "capture_start_ns", s.capture_start_ns);
  field(j, "last_packet_ns", s.last_packet_ns);
  field(j, "sent_at_ns", s.sent_at_ns);
  field(j, "records_sent", s.records_sent);
  return s;
}

template <typename Bytes>
void put_json(Bytes& b, const Json& j) {
  const std::string s = j.dump();
  b.insert(b.end(), s.begin(), s.end());
}

std::string decode_json(const char* what, std::span<const uint8_t> payload, uint8_t type,
                        Frame& out) {
  Json j;
  try {
    j = Json::parse(payload.begin(), payload.end());
  } catch (const std::exception& e) {
    return std::string(what) + " frame: invalid JSON: " + e.what();
  }
  if (!j.is_object()) return std::string(what) + " frame: JSON payload is not an object";
  try {
    if (type == uint8_t(FrameType::kHello)) {
      Hello h;
      require(j, "wire_version");
      require(j, "point");
      field(j, "wire_version", h.wire_version);
      field(j, "run", h.run);
      field(j, "point", h.point);
      field(j, "host", h.host);
      field(j, "netns", h.netns);
      field(j, "iface", h.iface);
      field(j, "linktype", h.linktype);
      field(j, "snaplen", h.snaplen);
      field(j, "filter", h.filter);
      field(j, "realtime_ns", h.realtime_ns);
      field(j, "monotonic_ns", h.monotonic_ns);
      field(j, "token", h.token);
      field(j, "software", h.software);
      field(j, "keep_bytes", h.keep_bytes);
      h.digest = 1;  // absent: a collector from before digest versions (pathtrace 0.1.0)
      field(j, "digest", h.digest);
      if (h.digest == 0) throw std::runtime_error("field 'digest' is 0 (digest versions start at 1)");
      h.caps.clear();
      if (auto it = j.find("caps"); it != j.end()) {
        if (!it->is_array()) throw std::runtime_error("field 'caps' is not an array");
        for (const auto& c : *it) {
          if (!c.is_string()) throw std::runtime_error("field 'caps' holds a non-string");
          h.caps.push_back(c.get<std::string>());
        }
      }
      out = std::move(h);
    } else if (type == uint8_t(FrameType::kStats)) {
      out = stats_from(j);
    } else {
      Bye b;
      require(j, "stats");
      b.stats = stats_from(j.at("stats"));
      field(j, "reason", b.reason);
      out = std::move(b);
    }
  } catch (const std::exception& e) {
    return std::string(what) + " frame: " + e.what();
  }
  return {};
}

std::string decode_chain(std::span<const uint8_t> payload, Frame& out) {
  In in(payload);
  ChainEntry c;
  uint64_t id = 0, len = 0;
  if (!in.varint(id)) return "CHAIN frame: truncated chain id";
  if (id > UINT32_MAX) return "CHAIN frame: chain id " + std::to_string(id) + " exceeds 32 bits";
  c.id = static_cast<uint32_t>(id);
  if (!in.varint(len)) return "CHAIN frame: truncated stack length";
  if (len > 1024) return "CHAIN frame: stack string of " + std::to_string(len) + " bytes (at most 1024)";
  const uint8_t* p = nullptr;
  if (!in.bytes(len, p))
    return "CHAIN frame: stack string of " + std::to_string(len) + " bytes, payload has " +
           std::to_string(in.left());
  c.stack.assign(reinterpret_cast<const char*>(p), len);
  uint8_t n = 0;
  if (!in.u8(n)) return "CHAIN frame: truncated IP layer count";
  if (n == 0 || n > packet::kMaxIpLayers)
    return "CHAIN frame: " + std::to_string(n) + " IP layers (1.." +
           std::to_string(packet::kMaxIpLayers) + " allowed)";
  for (uint8_t i = 0; i < n; ++i) {
    packet::FlowKey k;
    const std::string where = "CHAIN frame: IP layer " + std::to_string(i) + ": ";
    if (!in.u8(k.version) || !in.u8(k.proto)) return where + "truncated";
    if (k.version != 4 && k.version != 6)
      return where + "IP version " + std::to_string(k.version) + " (4 or 6 expected)";
    const std::size_t alen = k.version == 4 ? 4 : 16;
    const uint8_t* a = nullptr;
    if (!in.bytes(alen, a)) return where + "truncated";
    std::memcpy(k.src.data(), a, alen);
    if (!in.bytes(alen, a)) return where + "truncated";
    std::memcpy(k.dst.data(), a, alen);
    if (!in.u16(k.sport) || !in.u16(k.dport)) return where + "truncated";
    c.ip.push_back(k);
  }
  if (in.left()) return "CHAIN frame: " + std::to_string(in.left()) + " bytes after the last IP layer";
  out = std::move(c);
  return {};
}

std::string decode_records(std::span<const uint8_t> payload, Frame& out) {
  In in(payload);
  Records r;
  uint64_t count = 0, base = 0;
  if (!in.u64(r.seq)) return "RECORDS frame: truncated header (sequence number)";
  if (!in.varint(count)) return "RECORDS frame: truncated header (record count)";
  if (!in.u64(base)) return "RECORDS frame: truncated header (base timestamp)";
  if (count == 0) return "RECORDS frame: 0 records declared";
  if (count > kMaxRecordsPerFrame)
    return "RECORDS frame: " + std::to_string(count) + " records declared (at most " +
           std::to_string(kMaxRecordsPerFrame) + ")";
  r.records.reserve(std::min<uint64_t>(count, in.left() / 11 + 1));
  int64_t ts = static_cast<int64_t>(base);
  for (uint64_t i = 0; i < count; ++i) {
    const auto short_by = [&] {
      if (in.overlong)
        return "RECORDS frame: record " + std::to_string(i) + ": varint longer than 10 bytes";
      return "RECORDS frame: " + std::to_string(count) + " records declared, payload ends after " +
             std::to_string(i);
    };
    Record rec;
    uint64_t delta = 0, chain = 0, wlen = 0;
    if (!in.u64(rec.digest) || !in.varint(delta) || !in.varint(chain)) return short_by();
    if (!in.varint(wlen)) return short_by();
    if (chain >> 1 > UINT32_MAX)
      return "RECORDS frame: record " + std::to_string(i) + ": chain id exceeds 32 bits";
    if (wlen > UINT32_MAX)
      return "RECORDS frame: record " + std::to_string(i) + ": wire length exceeds 32 bits";
    if ((chain & 1) && !in.u8(rec.tcp_flags)) return short_by();
    ts = static_cast<int64_t>(static_cast<uint64_t>(ts) + static_cast<uint64_t>(unzigzag(delta)));
    rec.ts_ns = ts;
    rec.chain = static_cast<uint32_t>(chain >> 1);
    rec.wire_len = static_cast<uint32_t>(wlen);
    r.records.push_back(rec);
  }
  if (in.left())
    return "RECORDS frame: " + std::to_string(in.left()) + " bytes after the " +
           std::to_string(count) + " declared records";
  out = std::move(r);
  return {};
}

std::string decode_kept(std::span<const uint8_t> payload, Frame& out) {
  In in(payload);
  Kept k;
  uint64_t count = 0;
  if (!in.u64(k.seq)) return "KEPT frame: truncated header (sequence number)";
  if (!in.varint(count)) return "KEPT frame: truncated header (record count)";
  if (count == 0) return "KEPT frame: 0 records declared";
  if (count > kMaxRecordsPerFrame)
    return "KEPT frame: " + std::to_string(count) + " records declared (at most " +
           std::to_string(kMaxRecordsPerFrame) + ")";
  k.lens.reserve(count);
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len = 0;
    if (!in.varint(len))
      return "KEPT frame: " + std::to_string(count) + " lengths declared, payload ends after " +
             std::to_string(i);
    if (len > 0xffff)
      return "KEPT frame: record " + std::to_string(i) + ": " + std::to_string(len) +
             " bytes kept (at most 65535)";
    k.lens.push_back(static_cast<uint16_t>(len));
    total += len;
  }
  if (in.left() != total)
    return "KEPT frame: lengths add up to " + std::to_string(total) + " bytes, " +
           std::to_string(in.left()) + " follow";
  const uint8_t* d = nullptr;
  in.bytes(total, d);
  k.data.assign(d, d + total);
  out = std::move(k);
  return {};
}

std::string text_of(std::span<const uint8_t> payload) {
  return std::string(reinterpret_cast<const char*>(payload.data()), payload.size());
}

}  // namespace

std::vector<std::string> capabilities() { return {kCapKept, kCapDigest2}; }

std::string type_name(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: return "HELLO";
    case FrameType::kChain: return "CHAIN";
    case FrameType::kRecords: return "RECORDS";
    case FrameType::kStats: return "STATS";
    case FrameType::kBye: return "BYE";
    case FrameType::kStop: return "STOP";
    case FrameType::kReject: return "REJECT";
    case FrameType::kKept: return "KEPT";
  }
  static const char* hex = "0123456789abcdef";
  return std::string("0x") + hex[type >> 4] + hex[type & 15];
}

// ---- Encoder ----------------------------------------------------------------------------

std::size_t Encoder::begin(FrameType t) {
  const std::size_t start = buf_.size();
  put_u32(buf_, 0);  // patched by end()
  put_u8(buf_, static_cast<uint8_t>(t));
  return start;
}

void Encoder::end(std::size_t start) {
  const std::size_t len = buf_.size() - start - 4;
  assert(len <= kMaxFrame);
  for (int i = 0; i < 4; ++i) buf_[start + i] = static_cast<uint8_t>(len >> (8 * i));
}

void Encoder::hello(const Hello& h) {
  const auto s = begin(FrameType::kHello);
  put_json(buf_, Json{{"wire_version", h.wire_version}, {"run", h.run}, {"point", h.point},
                      {"host", h.host}, {"netns", h.netns}, {"iface", h.iface},
                      {"linktype", h.linktype}, {"snaplen", h.snaplen}, {"filter", h.filter},
                      {"realtime_ns", h.realtime_ns}, {"monotonic_ns", h.monotonic_ns},
                      {"token", h.token}, {"software", h.software}, {"keep_bytes", h.keep_bytes},
                      {"digest", h.digest}, {"caps", h.caps}});
  end(s);
}

void Encoder::chain(const ChainEntry& c) {
  assert(!c.ip.empty() && c.ip.size() <= packet::kMaxIpLayers && c.stack.size() <= 1024);
  const auto s = begin(FrameType::kChain);
  put_varint(buf_, c.id);
  put_varint(buf_, c.stack.size());
  buf_.insert(buf_.end(), c.stack.begin(), c.stack.end());
  put_u8(buf_, static_cast<uint8_t>(c.ip.size()));
  for (const auto& k : c.ip) {
    const std::size_t alen = k.version == 6 ? 16 : 4;
    put_u8(buf_, k.version == 6 ? 6 : 4);
    put_u8(buf_, k.proto);
    buf_.insert(buf_.end(), k.src.begin(), k.src.begin() + alen);
    buf_.insert(buf_.end(), k.dst.begin(), k.dst.begin() + alen);
    put_u16(buf_, k.sport);
    put_u16(buf_, k.dport);
  }
  end(s);
}

void Encoder::records(uint64_t seq, std::span<const Record> recs) {
  assert(!recs.empty() && recs.size() <= kMaxRecordsPerFrame);
  // One reservation for the whole frame, then raw stores: a push_back per byte (a capacity
  // check each) cost more than the encoding itself. 8 + 10 + 10 + 5 + 1 bytes per record at most.
  constexpr std::size_t kMaxRecordBytes = 8 + 10 + 10 + 5 + 1;
  const std::size_t s = buf_.size();
  buf_.resize(s + 4 + 1 + 8 + 10 + 8 + recs.size() * kMaxRecordBytes);
  uint8_t* const base = buf_.data();
  uint8_t* p = base + s + 4;
  auto u64 = [&p](uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(p, &v, 8);
      p += 8;
    } else {
      for (int i = 0; i < 8; ++i) *p++ = static_cast<uint8_t>(v >> (8 * i));
    }
  };
  auto varint = [&p](uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<uint8_t>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<uint8_t>(v);
  };
  *p++ = static_cast<uint8_t>(FrameType::kRecords);
  u64(seq);
  varint(recs.size());
  int64_t prev = recs.front().ts_ns;
  u64(static_cast<uint64_t>(prev));
  for (const Record& r : recs) {
    u64(r.digest);
    // Wrapping subtraction: zigzag of the two's-complement difference round-trips.
    varint(zigzag(static_cast<int64_t>(static_cast<uint64_t>(r.ts_ns) - static_cast<uint64_t>(prev))));
    prev = r.ts_ns;
    varint(uint64_t(r.chain) << 1 | (r.tcp_flags ? 1 : 0));
    varint(r.wire_len);
    if (r.tcp_flags) *p++ = r.tcp_flags;
  }
  buf_.resize(static_cast<std::size_t>(p - base));
  end(s);
}

void Encoder::kept(uint64_t seq, std::span<const uint16_t> lens, std::span<const uint8_t> data) {
  assert(!lens.empty() && lens.size() <= kMaxRecordsPerFrame);
  const auto s = begin(FrameType::kKept);
  for (int i = 0; i < 8; ++i) put_u8(buf_, static_cast<uint8_t>(seq >> (8 * i)));
  put_varint(buf_, lens.size());
  for (const uint16_t n : lens) put_varint(buf_, n);
  buf_.insert(buf_.end(), data.begin(), data.end());
  end(s);
}

void Encoder::stats(const Stats& st) {
  const auto s = begin(FrameType::kStats);
  put_json(buf_, stats_json(st));
  end(s);
}

void Encoder::bye(const Bye& b) {
  const auto s = begin(FrameType::kBye);
  put_json(buf_, Json{{"reason", b.reason}, {"stats", stats_json(b.stats)}});
  end(s);
}

void Encoder::stop(const Stop& st) {
  const auto s = begin(FrameType::kStop);
  buf_.insert(buf_.end(), st.reason.begin(), st.reason.end());
  end(s);
}

void Encoder::reject(const Reject& r) {
  const auto s = begin(FrameType::kReject);
  buf_.insert(buf_.end(), r.reason.begin(), r.reason.end());
  end(s);
}

void Encoder::frame(const Frame& f) {
  std::visit(
      [this](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Hello>) hello(v);
        else if constexpr (std::is_same_v<T, ChainEntry>) chain(v);
        else if constexpr (std::is_same_v<T, Records>) records(v.seq, v.records);
        else if constexpr (std::is_same_v<T, Stats>) stats(v);
        else if constexpr (std::is_same_v<T, Bye>) bye(v);
        else if constexpr (std::is_same_v<T, Stop>) stop(v);
        else if constexpr (std::is_same_v<T, Kept>) kept(v.seq, v.lens, v.data);
        else reject(v);
      },
      f);
}

std::vector<uint8_t> encode(const Frame& f) {
  Encoder e;
  e.frame(f);
  return e.take();
}

// ---- Decoder ----------------------------------------------------------------------------

std::string decode_payload(uint8_t type, std::span<const uint8_t> payload, Frame& out) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: return decode_json("HELLO", payload, type, out);
    case FrameType::kStats: return decode_json("STATS", payload, type, out);
    case FrameType::kBye: return decode_json("BYE", payload, type, out);
    case FrameType::kChain: return decode_chain(payload, out);
    case FrameType::kRecords: return decode_records(payload, out);
    case FrameType::kStop: out = Stop{text_of(payload)}; return {};
    case FrameType::kReject: out = Reject{text_of(payload)}; return {};
    case FrameType::kKept: return decode_kept(payload, out);
  }
  return "unknown frame type " + type_name(type);
}

void Decoder::feed(std::span<const uint8_t> bytes) {
  if (failed()) return;
  fed_ += bytes.size();
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

Decoder::Result Decoder::fail(std::string why) {
  error_ = std::move(why);
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  return Result::kError;
}

std::size_t Decoder::wanted() const noexcept {
  const std::size_t have = buf_.size() - pos_;
  if (have < 4) return kHeaderSize - have;
  const uint32_t len = get_u32(buf_.data() + pos_);
  const std::size_t total = 4 + std::size_t(std::min(len, max_frame_));
  return total > have ? total - have : 1;
}

Decoder::Result Decoder::next(Frame& out) {
  if (failed()) return Result::kError;
  const std::size_t have = buf_.size() - pos_;
  if (have < 4) return Result::kNeedMore;
  const uint32_t len = get_u32(buf_.data() + pos_);
  // The limit is checked before waiting for (or buffering) any of the payload.
  if (len > max_frame_) {
    const std::string limit = max_frame_ % (1u << 20) == 0   ? std::to_string(max_frame_ >> 20) + " MiB"
                              : max_frame_ % (1u << 10) == 0 ? std::to_string(max_frame_ >> 10) + " KiB"
                                                             : std::to_string(max_frame_) + " bytes";
    return fail("frame length " + std::to_string(len) + " exceeds " + limit);
  }
  if (len == 0) return fail("frame length 0 (at least 1: the type byte)");
  if (have >= 5) {
    const uint8_t type = buf_[pos_ + 4];
    if (type_name(type)[0] == '0') return fail("unknown frame type " + type_name(type));
  }
  if (have < 4 + std::size_t(len)) return Result::kNeedMore;
  const uint8_t type = buf_[pos_ + 4];
  const std::span<const uint8_t> payload(buf_.data() + pos_ + 5, len - 1);
  std::string why = decode_payload(type, payload, out);
  if (!why.empty()) return fail(std::move(why));
  pos_ += 4 + std::size_t(len);
  return Result::kFrame;
}

}  // namespace pathtrace::wire
