// A capture's bytes through zlib, libzstd or as they are. See input.hpp.

#include "collector/pcapfile/input.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "collector/common/error.hpp"

namespace pathtrace::pcapfile {

namespace {
constexpr std::size_t kRawChunk = 256 * 1024;
constexpr uint8_t kGzipMagic[] = {0x1f, 0x8b};
constexpr uint8_t kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};
}  // namespace

const char* name(Codec codec) noexcept {
  switch (codec) {
    case Codec::kGzip: return "gzip";
    case Codec::kZstd: return "zstd";
    case Codec::kNone: break;
  }
  return "";
}

Codec sniff_codec(std::span<const uint8_t> first) noexcept {
  if (first.size() >= sizeof kGzipMagic && std::memcmp(first.data(), kGzipMagic, sizeof kGzipMagic) == 0)
    return Codec::kGzip;
  if (first.size() >= sizeof kZstdMagic && std::memcmp(first.data(), kZstdMagic, sizeof kZstdMagic) == 0)
    return Codec::kZstd;
  return Codec::kNone;
}

struct ByteStream::Codecs {
  z_stream zs{};
  bool zs_ready = false;
  ZSTD_DCtx* zstd = nullptr;
  ~Codecs() {
    if (zs_ready) inflateEnd(&zs);
    if (zstd) ZSTD_freeDCtx(zstd);
  }
};

ByteStream::ByteStream(int fd, std::string name)
    : fd_(fd), name_(std::move(name)), raw_(kRawChunk), codecs_(std::make_unique<Codecs>()) {
  try {
    while (raw_end_ < sizeof kZstdMagic && fill_raw()) {
    }
    codec_ = sniff_codec({raw_.data(), raw_end_});
    if (codec_ == Codec::kGzip) {
      // 15 + 16: a gzip header and trailer (not zlib's), the largest window.
      if (inflateInit2(&codecs_->zs, 15 + 16) != Z_OK) throw Error(ExitCode::kInternal, name_ + ": zlib cannot start");
      codecs_->zs_ready = true;
    } else if (codec_ == Codec::kZstd) {
      codecs_->zstd = ZSTD_createDCtx();
      if (!codecs_->zstd) throw Error(ExitCode::kInternal, name_ + ": libzstd cannot start");
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

ByteStream::~ByteStream() { ::close(fd_); }

bool ByteStream::fill_raw() {
  if (raw_eof_) return false;
  if (raw_at_ == raw_end_) raw_at_ = raw_end_ = 0;
  for (;;) {
    const ssize_t n = ::read(fd_, raw_.data() + raw_end_, raw_.size() - raw_end_);
    if (n > 0) {
      raw_end_ += std::size_t(n);
      raw_pos_ += uint64_t(n);
      return true;
    }
    if (n == 0) {
      raw_eof_ = true;
      return false;
    }
    if (errno != EINTR) throw Error(ExitCode::kInput, name_ + ": cannot read: " + std::strerror(errno));
  }
}

std::size_t ByteStream::read(uint8_t* out, std::size_t n) {
  if (n == 0) return 0;
  if (codec_ == Codec::kNone) {
    if (raw_at_ == raw_end_ && !fill_raw()) return 0;
    const std::size_t k = std::min(n, raw_end_ - raw_at_);
    std::memcpy(out, raw_.data() + raw_at_, k);
    raw_at_ += k;
    return k;
  }
  // Compressed: decode until some bytes come out or the input ends.
  std::size_t produced = 0;
  while (produced == 0) {
    // At the input's end a decoder may still hold output: ask it once more, with no input.
    const bool end = raw_at_ == raw_end_ && !fill_raw();
    if (end && !in_frame_) return 0;
    const std::size_t avail = raw_end_ - raw_at_;
    const uint64_t at = raw_pos_ - avail;  // compressed offset of raw_[raw_at_]
    std::size_t used = 0;
    if (codec_ == Codec::kGzip) {
      z_stream& zs = codecs_->zs;
      zs.next_in = raw_.data() + raw_at_;
      zs.avail_in = static_cast<uInt>(avail);
      zs.next_out = out;
      zs.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
      const uInt out_before = zs.avail_out;
      const int rc = inflate(&zs, Z_NO_FLUSH);
      used = avail - zs.avail_in;
      produced = out_before - zs.avail_out;
      if (rc == Z_STREAM_END) {
        in_frame_ = false;
        inflateReset(&zs);  // another member may follow
      } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
        in_frame_ = true;
      } else {
        throw Error(ExitCode::kInput, name_ + ": gzip data corrupt at compressed byte " + std::to_string(at + used) +
                                          ": " + (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)));
      }
    } else {
      ZSTD_inBuffer in{raw_.data() + raw_at_, avail, 0};
      ZSTD_outBuffer o{out, n, 0};
      const std::size_t rc = ZSTD_decompressStream(codecs_->zstd, &o, &in);
      used = in.pos;
      produced = o.pos;
      if (ZSTD_isError(rc))
        throw Error(ExitCode::kInput, name_ + ": zstd data corrupt at compressed byte " + std::to_string(at + used) +
                                          ": " + ZSTD_getErrorName(rc));
      in_frame_ = rc != 0;  // 0: a frame ended and everything it held is out
    }
    raw_at_ += used;
    if (end && produced == 0) {
      cut_ = true;  // the input ended inside a gzip member or zstd frame
      return 0;
    }
  }
  return produced;
}

}  // namespace pathtrace::pcapfile
