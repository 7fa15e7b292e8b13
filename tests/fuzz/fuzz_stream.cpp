// libFuzzer entry for the streamed pcap of agentless mode (pcapfile::StreamParser, what
// `tcpdump -U -w -` sends over ssh): the first byte chooses how the rest is cut into chunks, so
// the same stream arrives in many shapes. Whatever the cuts, the parser must return the same
// packets and the same end (kEnd, or kError with the same text): bad bytes are an error value,
// never a crash or an exception.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "collector/pcapfile/stream.hpp"
#include "tests/fuzz/fuzz_file.hpp"

namespace {

using pathtrace::pcapfile::Packet;
using pathtrace::pcapfile::StreamParser;

struct Outcome {
  std::vector<std::vector<uint8_t>> packets;
  std::vector<int64_t> ts;
  std::vector<uint32_t> wire;
  StreamParser::Result end = StreamParser::Result::kEnd;
  std::string error;
};

// Feeds `bytes` in chunks of `chunk` bytes (0: all at once), draining packets after each.
Outcome parse(std::span<const uint8_t> bytes, std::size_t chunk) {
  using pathtrace::fuzz::check;
  StreamParser sp;
  Outcome o;
  Packet p;
  auto drain = [&](bool ended) {
    for (;;) {
      const StreamParser::Result r = sp.next(p);
      if (r == StreamParser::Result::kPacket) {
        check(p.wire_len >= p.data.size());
        check(p.data.size() <= pathtrace::pcapfile::kMaxCaplen);
        o.packets.emplace_back(p.data.begin(), p.data.end());
        o.ts.push_back(p.ts_ns);
        o.wire.push_back(p.wire_len);
        continue;
      }
      check(ended || r != StreamParser::Result::kEnd);
      check(!ended || r != StreamParser::Result::kNeedMore);
      check((r == StreamParser::Result::kError) == !sp.error().empty());
      o.end = r;
      o.error = sp.error();
      return r;
    }
  };
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t n = chunk ? std::min(chunk, bytes.size() - at) : bytes.size() - at;
    sp.feed(bytes.subspan(at, n));
    at += n;
    if (drain(false) == StreamParser::Result::kError) break;
  }
  sp.finish();
  if (o.end != StreamParser::Result::kError) drain(true);
  check(sp.bytes_in() <= bytes.size());
  check(sp.records() == o.packets.size());
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using pathtrace::fuzz::check;
  if (size == 0) return 0;
  const std::size_t chunk = std::size_t(data[0] % 32) + 1;  // 1..32 bytes per feed
  const std::span<const uint8_t> stream(data + 1, size - 1);
  const Outcome whole = parse(stream, 0);
  const Outcome cut = parse(stream, chunk);
  check(whole.packets == cut.packets && whole.ts == cut.ts && whole.wire == cut.wire);
  check(whole.end == cut.end);
  check(whole.error == cut.error);  // the text does not depend on how the bytes were cut
  return 0;
}
