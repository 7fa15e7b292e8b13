// libFuzzer entry for the wire decoder (what a correlator runs on every byte a collector, or
// anyone who can connect, sends): the input as a stream, fed whole and again in pieces whose
// sizes the input chooses (the same frames, the same end); every frame re-encoded and decoded
// back to itself; every frame type's payload decoder on the raw bytes; and escape_text on the
// decoder's complaint and on the raw bytes. Never fails; traps on a broken invariant.

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "collector/common/log_text.hpp"
#include "collector/wire/wire.hpp"

namespace {

namespace wire = pathtrace::wire;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Nothing escape_text returns may move a terminal: no C0 control, no DEL.
void check_printable(const std::string& s) {
  for (const char c : s) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

// What decoding a stream gave: its frames, the error (empty: none), the bytes left over.
struct Decoded {
  std::vector<wire::Frame> frames;
  std::string error;
  std::size_t left = 0;
};
// Decodes `bytes` fed in pieces of `piece` bytes (0: at once).
Decoded decode(std::span<const uint8_t> bytes, std::size_t piece) {
  Decoded d;
  wire::Decoder dec;
  for (std::size_t off = 0;;) {
    const std::size_t n = piece ? std::min(piece, bytes.size() - off) : bytes.size() - off;
    dec.feed(bytes.subspan(off, n));
    off += n;
    check(dec.consumed() == off || dec.failed());
    wire::Frame f;
    wire::Decoder::Result r;
    while ((r = dec.next(f)) == wire::Decoder::Result::kFrame) d.frames.push_back(f);
    if (r == wire::Decoder::Result::kError) {
      check(!dec.error().empty());
      check(dec.next(f) == wire::Decoder::Result::kError);  // failed stays failed
      d.error = dec.error();
      return d;
    }
    check(dec.wanted() >= 1);
    if (off >= bytes.size()) break;
  }
  d.left = dec.buffered();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::span<const uint8_t> in(data, size);
  // The whole input as a stream, at once and in pieces: the same frames, the same end.
  const Decoded whole = decode(in, 0);
  const Decoded pieces = decode(in, size ? data[0] % 13 + 1 : 1);
  check(whole.frames == pieces.frames);
  check(whole.error == pieces.error);
  check(whole.left == pieces.left);
  check_printable(pathtrace::escape_text(whole.error));
  // Every frame decoded re-encodes to bytes that decode to the same frame.
  for (const wire::Frame& f : whole.frames) {
    const std::vector<uint8_t> again = wire::encode(f);
    const Decoded back = decode(again, 0);
    check(back.error.empty());
    check(back.frames.size() == 1 && back.left == 0);
    check(back.frames[0] == f);
  }
  // Each payload decoder alone on the bytes after the first (its type).
  if (size >= 1) {
    wire::Frame out;
    const std::string why = wire::decode_payload(data[0], in.subspan(1), out);
    check_printable(pathtrace::escape_text(why));
  }
  check_printable(pathtrace::escape_text(std::string_view(reinterpret_cast<const char*>(data), size)));
  return 0;
}
