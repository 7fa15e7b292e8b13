// The classic pcap global header and record header, and the texts of their errors. See pcap.hpp.
// Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html

#include "collector/pcapfile/pcap.hpp"

#include <algorithm>
#include <bit>

namespace pathtrace::pcapfile {
namespace {

constexpr uint32_t kLinktypeMask = 0x03ffffff;  // upper bits of the field carry FCS information

// The four magics as the bytes of a file: little-endian µs and ns, big-endian µs and ns.
constexpr uint8_t kMagics[4][4] = {
    {0xd4, 0xc3, 0xb2, 0xa1}, {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, {0xa1, 0xb2, 0x3c, 0x4d}};

// Index into kMagics of the magic `bytes` start with (judged on up to 4 bytes), or -1.
int magic_index(std::span<const uint8_t> bytes) noexcept {
  const std::size_t n = bytes.size() < 4 ? bytes.size() : 4;
  for (int i = 0; i < 4; ++i)
    if (n == 0 || std::memcmp(bytes.data(), kMagics[i], n) == 0) return i;
  return -1;
}

}  // namespace

std::string hex_bytes(std::span<const uint8_t> bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < bytes.size() && i < 4; ++i) {
    if (i) s += ' ';
    s += kDigits[bytes[i] >> 4];
    s += kDigits[bytes[i] & 15];
  }
  return s;
}

bool starts_like_pcap(std::span<const uint8_t> bytes) noexcept { return magic_index(bytes) >= 0; }

Decode decode_header(std::span<const uint8_t> bytes, PcapHeader& out) noexcept {
  const int magic = magic_index(bytes);
  if (magic < 0) return Decode::kCorrupt;
  if (bytes.size() < kPcapHeaderLen) return Decode::kNeedMore;
  const bool file_le = magic < 2;
  out.swapped = file_le != (std::endian::native == std::endian::little);
  out.nanos = magic == 1 || magic == 3;
  out.snaplen = detail::load<uint32_t>(bytes.data() + 16, out.swapped);
  out.linktype = detail::load<uint32_t>(bytes.data() + 20, out.swapped) & kLinktypeMask;
  return Decode::kOk;
}

std::string not_a_capture_message(const char* formats, const char* source, std::span<const uint8_t> first) {
  std::string m = std::string("not a ") + formats + " " + source + " (starts with " + hex_bytes(first) + ")";
  // The "modified pcap" of old patched tcpdumps (magic a1b2cd34, 8 more bytes per record
  // header): libpcap reads it, so a person may well have one.
  static constexpr uint8_t kModified[2][4] = {{0x34, 0xcd, 0xb2, 0xa1}, {0xa1, 0xb2, 0xcd, 0x34}};
  for (const auto& magic : kModified)
    if (first.size() >= 4 && std::equal(magic, magic + 4, first.begin()))
      m += ": the \"modified pcap\" format of old patched tcpdumps, which pathtrace does not read; "
           "rewrite it as plain pcap first (tcpdump -r IN -w OUT, or editcap -F pcap IN OUT)";
  return m;
}

std::string header_cut_message(const char* source, std::size_t have) {
  return "header cut short (pcap file header needs " + std::to_string(kPcapHeaderLen) + " bytes, " + source +
         " has " + std::to_string(have) + ")";
}

std::string truncated_message(uint64_t end, uint64_t record) {
  return "truncated at byte " + std::to_string(end) + " (inside packet record " + std::to_string(record) + ")";
}

std::string corrupt_message(uint64_t at, const std::string& why) {
  return "corrupt record at byte " + std::to_string(at) + ": " + why;
}

std::string corrupt_record_message(const PcapHeader& h, std::span<const uint8_t> bytes, uint64_t at) {
  if (bytes.size() < kPcapRecordHeaderLen) return corrupt_message(at, "record header cut short");
  const uint32_t caplen = detail::load<uint32_t>(bytes.data() + 8, h.swapped);
  return corrupt_message(at, "captured length " + std::to_string(caplen) + " > " + std::to_string(kMaxCaplen) +
                                 " (snaplen " + std::to_string(h.snaplen) + ")");
}

}  // namespace pathtrace::pcapfile
