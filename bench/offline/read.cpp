// bench_offline_read — how fast the pcapfile Reader alone walks capture files.
// usage: bench_offline_read FILE... ; prints packets, bytes, seconds and packets/s.
// Run it twice: the first run may include reading from disk, the second is page cache.

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_offline_read FILE...\n");
    return 2;
  }
  uint64_t packets = 0, bytes = 0, check = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i < argc; ++i) {
    pathtrace::pcapfile::Reader r(argv[i]);
    pathtrace::pcapfile::Packet p;
    while (r.next(p)) {
      ++packets;
      bytes += p.data.size();
      check += static_cast<uint64_t>(p.ts_ns) ^ (p.data.empty() ? 0 : p.data[0]);  // touch the data
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("reader: %llu packets, %.1f MB in %.3f s = %.1f M packets/s, %.0f MB/s (check %llx)\n",
              static_cast<unsigned long long>(packets), double(bytes) / 1e6, s, double(packets) / s / 1e6,
              double(bytes) / s / 1e6, static_cast<unsigned long long>(check & 0xfff));
  return 0;
} catch (const pathtrace::Error& e) {
  std::fprintf(stderr, "bench_offline_read: %s\n", e.what());
  return static_cast<int>(e.code());
}
