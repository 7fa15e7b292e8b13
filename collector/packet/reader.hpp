#pragma once
// The one bounds-checked reader every header is read through (libtins InputMemoryStream
// shape, but returning false instead of throwing). A failed read leaves the cursor where it
// was; nothing is ever read outside [data, data + size).

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pathtrace::packet {

// A cursor over captured bytes. Multi-byte reads are big-endian (network order).
class Reader {
 public:
  // Reads `size` bytes starting at `data`.
  constexpr Reader(const uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  // Current offset from the start of the frame.
  constexpr std::size_t pos() const noexcept { return pos_; }
  // Captured length of the frame.
  constexpr std::size_t size() const noexcept { return size_; }
  // Bytes left after the cursor.
  constexpr std::size_t remaining() const noexcept { return size_ - pos_; }
  // True when `n` more bytes are captured after the cursor.
  constexpr bool can_read(std::size_t n) const noexcept { return n <= size_ - pos_; }
  // True when the captured bytes reach absolute offset `end` (exclusive).
  constexpr bool covers(std::size_t end) const noexcept { return end <= size_; }
  // Pointer to the byte under the cursor; only dereference after can_read().
  constexpr const uint8_t* here() const noexcept { return data_ + pos_; }

  // Moves the cursor forward by `n`; false (cursor unchanged) if that leaves the capture.
  constexpr bool skip(std::size_t n) noexcept {
    if (!can_read(n)) return false;
    pos_ += n;
    return true;
  }
  // Reads one byte.
  constexpr bool read_u8(uint8_t& v) noexcept {
    if (!can_read(1)) return false;
    v = data_[pos_++];
    return true;
  }
  // Reads a big-endian 16-bit value.
  constexpr bool read_be16(uint16_t& v) noexcept {
    if (!can_read(2)) return false;
    v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  // Reads a big-endian 32-bit value.
  constexpr bool read_be32(uint32_t& v) noexcept {
    if (!can_read(4)) return false;
    v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
        (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  // Copies `n` raw bytes (wire order) into `dst`.
  bool read_bytes(void* dst, std::size_t n) noexcept {
    if (!can_read(n)) return false;
    std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return true;
  }
  // Copies `n` raw bytes at absolute offset `at` without moving the cursor.
  bool copy_at(std::size_t at, void* dst, std::size_t n) const noexcept {
    if (at > size_ || n > size_ - at) return false;
    std::memcpy(dst, data_ + at, n);
    return true;
  }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace pathtrace::packet
