// libFuzzer entry for the capture-file Reader (pcap and pcapng, memory-mapped): the bytes as a
// file, read to the end. Bad bytes must end in Error(kInput) naming the file, never in a crash,
// another exception, a hang or a packet that breaks the Reader's promises (checked here).

#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "tests/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using pathtrace::fuzz::check;
  static pathtrace::fuzz::MemoryFile file;
  const std::string& path = file.hold(data, size);
  try {
    pathtrace::pcapfile::Reader r(path);
    pathtrace::pcapfile::Packet p;
    uint64_t packets = 0;
    std::size_t last_pos = r.position();
    // A plain file is mapped: position() is the next record's offset. A gzip or zstd file is
    // streamed: position() counts the compressed bytes read so far, in chunks, so it stays put
    // while the packets of one chunk are returned, and one compressed byte may hold many
    // packets (found by fuzz_pcapfile: a zstd frame holding a 0-byte packet).
    const bool mapped = r.codec() == pathtrace::pcapfile::Codec::kNone;
    while (r.next(p)) {
      ++packets;
      check(p.data.size() <= pathtrace::pcapfile::kMaxCaplen);
      check(p.wire_len >= p.data.size());
      // The reader moves forward (a mapped file: past every record) and stays inside the file.
      check((mapped ? r.position() > last_pos : r.position() >= last_pos) &&
            r.position() <= r.file_size());
      last_pos = r.position();
      volatile uint8_t sink = 0;
      for (uint8_t b : p.data) sink = sink ^ b;  // every byte readable (ASan checks the mapping)
      (void)sink;
    }
    check(r.position() <= r.file_size());
    if (mapped) check(packets <= size);
    (void)r.interface_stats().size();
  } catch (const pathtrace::Error& e) {
    check(e.code() == pathtrace::ExitCode::kInput);
    check(std::string(e.what()).find(path) != std::string::npos);  // names the file
  }
  return 0;
}
