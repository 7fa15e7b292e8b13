#pragma once
// A capture's bytes when they cannot be mapped as they are: a gzip- or zstd-compressed file
// (told by its first bytes, whatever its name), a pipe, or standard input. The one
// decompression layer of pathtrace: the Reader (pcapfile.hpp) reads through it.
//
//   fd ──read()──▶ raw bytes ──(gzip: zlib · zstd: libzstd · plain: as they are)──▶ read(out, n)
//
// Several concatenated gzip members or zstd frames are one stream (`cat a.gz b.gz`, pigz).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pathtrace::pcapfile {

// How a stream's bytes are compressed, from its first bytes.
enum class Codec : uint8_t {
  kNone,  // as they are
  kGzip,  // 1f 8b
  kZstd,  // 28 b5 2f fd
};
// "gzip", "zstd", "" for kNone.
const char* name(Codec codec) noexcept;
// The codec whose magic `first` starts with (kNone when fewer bytes than its magic, or none).
Codec sniff_codec(std::span<const uint8_t> first) noexcept;

// The decompressed bytes of a file descriptor, in order. Read errors and corrupt compressed
// data throw Error(kInput) naming `name` and the compressed byte ("C.pcap.gz: gzip data
// corrupt at compressed byte 4242: invalid distance too far back"); compressed data that
// simply ends early (a cut file) is not an error: read() returns 0 and cut() says so.
class ByteStream {
 public:
  // Takes `fd` (closed by the destructor) and reads its first bytes to tell the codec.
  ByteStream(int fd, std::string name);
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Up to `n` next bytes into `out`; 0 only at the end of the stream.
  std::size_t read(uint8_t* out, std::size_t n);
  Codec codec() const noexcept { return codec_; }
  // True once the end was reached inside a gzip member or zstd frame: the file was cut.
  bool cut() const noexcept { return cut_; }
  // Bytes read from the descriptor so far (compressed bytes, for progress).
  uint64_t raw_position() const noexcept { return raw_pos_; }

 private:
  bool fill_raw();  // more raw bytes into raw_; false at the descriptor's end
  struct Codecs;    // zlib's and libzstd's state
  int fd_;
  std::string name_;
  Codec codec_ = Codec::kNone;
  std::vector<uint8_t> raw_;
  std::size_t raw_at_ = 0, raw_end_ = 0;  // unread raw bytes are raw_[raw_at_, raw_end_)
  uint64_t raw_pos_ = 0;
  bool raw_eof_ = false;
  bool in_frame_ = false;  // inside a gzip member / zstd frame (its end not seen)
  bool cut_ = false;
  std::unique_ptr<Codecs> codecs_;
};

}  // namespace pathtrace::pcapfile
